// MUTANT: IPv4 header is parsed but not emitted by the deparser: IPv4 frames arrive with their IP header cut out (non-IP frames intact) - verifier must compare IPv4/UDP frames byte for byte
/*
 * repeater.p4 — Lab 1.2: a table-driven port repeater.
 *
 * The output port of every frame is decided by the table `repeater`, keyed
 * on the port the frame came in on.  The controller installs 1 -> forward(2)
 * and 2 -> forward(1), which makes the switch a two-port "wire".  A port
 * without an entry hits the default action drop().  The frame itself is
 * never modified.
 *
 * Control-plane contract:
 *   table  repeater   key standard_metadata.ingress_port : exact
 *   action forward(bit<9> port), drop()          default drop()
 */
#include <core.p4>
#include <v1model.p4>

typedef bit<9>  egressSpec_t;
typedef bit<48> macAddr_t;

header ethernet_t {
    macAddr_t dstAddr;
    macAddr_t srcAddr;
    bit<16>   etherType;
}

struct metadata {
    /* not needed in this lab */
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> totalLen;
    bit<16> identification;
    bit<3>  flags;
    bit<13> fragOffset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdrChecksum;
    bit<32> srcAddr;
    bit<32> dstAddr;
}

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

/*************************************************************************
 *  PARSER — Ethernet only; the rest of the frame is opaque payload that
 *  the deparser passes through untouched, whatever its EtherType.
 *************************************************************************/
parser MyParser(packet_in packet,
                out headers hdr,
                inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            0x0800:  parse_ipv4;
            default: accept;
        }
    }

    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

/*************************************************************************
 *  INGRESS
 *************************************************************************/
control MyIngress(inout headers hdr,
                  inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    /* mark_to_drop() is what really discards a packet in v1model.  Just
     * "not setting" egress_spec would send it to port 0 instead. */
    action drop() {
        mark_to_drop(standard_metadata);
    }

    /* The port comes from the table entry (action data), so the
     * forwarding behaviour is entirely up to the controller. */
    action forward(egressSpec_t port) {
        standard_metadata.egress_spec = port;
    }

    table repeater {
        key = {
            standard_metadata.ingress_port : exact;
        }
        actions = {
            forward;
            drop;
        }
        size = 64;
        /* Ports the controller does not know about must not leak traffic. */
        default_action = drop();
    }

    apply {
        repeater.apply();
    }
}

control MyEgress(inout headers hdr,
                 inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
    }
}

V1Switch(
    MyParser(),
    MyVerifyChecksum(),
    MyIngress(),
    MyEgress(),
    MyComputeChecksum(),
    MyDeparser()
) main;
