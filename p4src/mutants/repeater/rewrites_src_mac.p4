// MUTANT: forward() also overwrites the source MAC with a fixed switch MAC: frames are delivered but altered - verifier must check delivered frames are byte-identical
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

struct headers {
    ethernet_t ethernet;
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
        hdr.ethernet.srcAddr = 0x000000000100;
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
