// MUTANT: parser never extracts UDP, so UDP flows are routed but never counted: a UDP flow is never blocked - verifier must send >1000 UDP packets of one flow and count exactly 1000
/*
 * hh-v2.p4 — Lab 2.2: heavy-hitter detector, version 2 (per flow, routed).
 *
 * An IPv4 router (LPM on the destination address) that also stops heavy
 * flows: the first FLOW_THRESHOLD (1000) packets of every TCP or UDP flow
 * are delivered, every later packet of that flow is dropped.  A flow is the
 * 5-tuple (src IP, dst IP, protocol, src port, dst port), so a new
 * connection between the same hosts (other ports) is a new flow.
 * Both switches of the topology run this same program.
 *
 * Per-flow counts are kept in a COUNTING BLOOM FILTER: two register arrays
 * of BF_CELLS counters, indexed by two different hashes (crc16 and crc32)
 * of the 5-tuple.  A flow's count is estimated as the MINIMUM of its two
 * counters — a collision can only make a counter larger, never smaller, so
 * the minimum is the best (least over-estimated) value.
 *
 * Routing (action ipv4_forward): the old destination MAC (this switch)
 * becomes the source MAC, the next hop's MAC (from the controller) becomes
 * the destination MAC, TTL is decremented and the IPv4 header checksum is
 * recomputed in MyComputeChecksum.
 *
 * Other IPv4 traffic (ICMP, ...) is routed but not counted.  Non-IPv4
 * frames and unrouted destinations are dropped.
 *
 * Control-plane contract:
 *   table  ipv4_lpm  key hdr.ipv4.dstAddr : lpm
 *   action ipv4_forward(bit<48> dstAddr, bit<9> port), drop(), NoAction
 *   default action: drop()   (NOT NoAction: NoAction would leave
 *   egress_spec at 0, which is a real port, so unrouted packets could leak)
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4      = 0x0800;
const bit<8>  PROTO_TCP      = 6;
const bit<8>  PROTO_UDP      = 17;
const bit<32> BF_CELLS       = 4096;   /* counters per hash function */
const bit<32> FLOW_THRESHOLD = 1000;   /* packets delivered per flow */

typedef bit<9>  egressSpec_t;
typedef bit<48> macAddr_t;
typedef bit<32> ip4Addr_t;

header ethernet_t {
    macAddr_t dstAddr;
    macAddr_t srcAddr;
    bit<16>   etherType;
}

header ipv4_t {
    bit<4>    version;
    bit<4>    ihl;
    bit<8>    diffserv;
    bit<16>   totalLen;
    bit<16>   identification;
    bit<3>    flags;
    bit<13>   fragOffset;
    bit<8>    ttl;
    bit<8>    protocol;
    bit<16>   hdrChecksum;
    ip4Addr_t srcAddr;
    ip4Addr_t dstAddr;
}

header tcp_t {
    bit<16> srcPort;
    bit<16> dstPort;
    bit<32> seqNo;
    bit<32> ackNo;
    bit<4>  dataOffset;
    bit<4>  res;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgentPtr;
}

header udp_t {
    bit<16> srcPort;
    bit<16> dstPort;
    bit<16> length;
    bit<16> checksum;
}

struct metadata {
    bit<16> srcPort;     /* L4 ports of the flow, from TCP or UDP */
    bit<16> dstPort;
    bit<32> index1;      /* cell in bloom_filter_1 (crc16) */
    bit<32> index2;      /* cell in bloom_filter_2 (crc32) */
    bit<32> count1;
    bit<32> count2;
}

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    tcp_t      tcp;
    udp_t      udp;
}

/*************************************************************************
 *  PARSER — Ethernet / IPv4 / (TCP | UDP).  IPv4 options are not expected
 *  (ihl = 5); the checksum code below covers the 20-byte base header only.
 *************************************************************************/
parser MyParser(packet_in packet,
                out headers hdr,
                inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            TYPE_IPV4: parse_ipv4;
            default:   accept;
        }
    }

    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            PROTO_TCP: parse_tcp;
            default:   accept;
        }
    }

    state parse_tcp {
        packet.extract(hdr.tcp);
        transition accept;
    }

    state parse_udp {
        packet.extract(hdr.udp);
        transition accept;
    }
}

/*************************************************************************
 *  CHECKSUM VERIFICATION — BMv2 sets standard_metadata.checksum_error if
 *  the received IPv4 header checksum is wrong.
 *************************************************************************/
control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply {
        verify_checksum(
            hdr.ipv4.isValid(),
            { hdr.ipv4.version,
              hdr.ipv4.ihl,
              hdr.ipv4.diffserv,
              hdr.ipv4.totalLen,
              hdr.ipv4.identification,
              hdr.ipv4.flags,
              hdr.ipv4.fragOffset,
              hdr.ipv4.ttl,
              hdr.ipv4.protocol,
              hdr.ipv4.srcAddr,
              hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum,
            HashAlgorithm.csum16);
    }
}

/*************************************************************************
 *  INGRESS
 *************************************************************************/
control MyIngress(inout headers hdr,
                  inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    /* The counting Bloom filter: one array per hash function. */
    register<bit<32>>(BF_CELLS) bloom_filter_1;
    register<bit<32>>(BF_CELLS) bloom_filter_2;

    action drop() {
        mark_to_drop(standard_metadata);
    }

    /* Classic L3 forwarding step. */
    action ipv4_forward(macAddr_t dstAddr, egressSpec_t port) {
        /* The frame arrived addressed to this switch; it now leaves FROM
         * it, so the old destination MAC becomes the source MAC ... */
        hdr.ethernet.srcAddr = hdr.ethernet.dstAddr;
        /* ... and goes to the next hop's MAC given by the controller. */
        hdr.ethernet.dstAddr = dstAddr;
        standard_metadata.egress_spec = port;
        /* Changing the TTL invalidates the header checksum; it is
         * recomputed in MyComputeChecksum. */
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }

    table ipv4_lpm {
        key = {
            hdr.ipv4.dstAddr : lpm;
        }
        actions = {
            ipv4_forward;
            drop;
            NoAction;
        }
        size = 1024;
        /* drop(), not NoAction: see the header comment. */
        default_action = drop();
    }

    /* Both hashes over the same 5-tuple; different algorithms give
     * (mostly) independent cell positions. */
    action compute_bf_indices() {
        hash(meta.index1, HashAlgorithm.crc16, (bit<32>)0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol,
               meta.srcPort, meta.dstPort },
             BF_CELLS);
        hash(meta.index2, HashAlgorithm.crc32, (bit<32>)0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol,
               meta.srcPort, meta.dstPort },
             BF_CELLS);
    }

    apply {
        if (hdr.ipv4.isValid()) {
            ipv4_lpm.apply();

            /* Only TCP and UDP flows are counted; the ports come from
             * whichever of the two headers was parsed. */
            if (hdr.tcp.isValid() || hdr.udp.isValid()) {
                if (hdr.tcp.isValid()) {
                    meta.srcPort = hdr.tcp.srcPort;
                    meta.dstPort = hdr.tcp.dstPort;
                } else {
                    meta.srcPort = hdr.udp.srcPort;
                    meta.dstPort = hdr.udp.dstPort;
                }

                compute_bf_indices();
                bloom_filter_1.read(meta.count1, meta.index1);
                bloom_filter_2.read(meta.count2, meta.index2);

                /* Estimated count = min(count1, count2).  "min < T" is
                 * written as "count1 < T || count2 < T".  Compare BEFORE
                 * counting, so packets 0..999 pass: exactly 1000.  Counters
                 * only grow for delivered packets, so they never wrap. */
                if (meta.count1 < FLOW_THRESHOLD || meta.count2 < FLOW_THRESHOLD) {
                    bloom_filter_1.write(meta.index1, meta.count1 + 1);
                    bloom_filter_2.write(meta.index2, meta.count2 + 1);
                } else {
                    /* Heavy hitter: drop this and every later packet. */
                    drop();
                }
            }
        } else {
            /* Not IPv4: a router has nothing to do with it. */
            drop();
        }
    }
}

control MyEgress(inout headers hdr,
                 inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

/*************************************************************************
 *  CHECKSUM UPDATE — needed because ipv4_forward changed the TTL.
 *************************************************************************/
control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(
            hdr.ipv4.isValid(),
            { hdr.ipv4.version,
              hdr.ipv4.ihl,
              hdr.ipv4.diffserv,
              hdr.ipv4.totalLen,
              hdr.ipv4.identification,
              hdr.ipv4.flags,
              hdr.ipv4.fragOffset,
              hdr.ipv4.ttl,
              hdr.ipv4.protocol,
              hdr.ipv4.srcAddr,
              hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum,
            HashAlgorithm.csum16);
    }
}

/*************************************************************************
 *  DEPARSER — at most one of tcp/udp is valid; invalid ones are skipped.
 *************************************************************************/
control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.tcp);
        packet.emit(hdr.udp);
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
