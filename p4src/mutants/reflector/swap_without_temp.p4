// MUTANT: MACs 'swapped' without a temporary (dst = src; src = dst): both MACs end up as the old source MAC - verifier must see dst MAC = sender's MAC AND src MAC = old dst MAC
/*
 * reflector.p4 — Lab 1.1: the Ethernet reflector.
 *
 * Every frame that enters the switch on port p is sent back out of the same
 * port p, with the source and destination MAC addresses swapped.  Nothing
 * else in the frame is touched, and frames of ANY EtherType are reflected
 * (IPv4, ARP, anything else): the parser only looks at the Ethernet header,
 * and everything behind it is carried along as opaque payload.
 *
 * There are no tables, so this lab needs no control plane.
 */
#include <core.p4>
#include <v1model.p4>

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
 *  PARSER
 *  We only extract Ethernet.  We deliberately do NOT branch on the
 *  EtherType: the rest of the frame is payload that the deparser re-appends
 *  unchanged, so ARP, IPv4 and unknown EtherTypes are all handled alike.
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
    apply { }   /* no checksummed header is parsed */
}

/*************************************************************************
 *  INGRESS
 *************************************************************************/
control MyIngress(inout headers hdr,
                  inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    apply {
        /* Swap the MACs. */
        hdr.ethernet.dstAddr = hdr.ethernet.srcAddr;
        hdr.ethernet.srcAddr = hdr.ethernet.dstAddr;

        /* The output port is chosen in INGRESS through egress_spec
         * (egress_port is read-only here and only becomes meaningful in
         * the egress pipeline).  Out port = in port. */
        standard_metadata.egress_spec = standard_metadata.ingress_port;
    }
}

control MyEgress(inout headers hdr,
                 inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply { }   /* no checksum changes: only MACs were rewritten */
}

/*************************************************************************
 *  DEPARSER — re-emit Ethernet; the unparsed payload follows automatically.
 *************************************************************************/
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
