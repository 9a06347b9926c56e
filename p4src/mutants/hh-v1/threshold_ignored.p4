// MUTANT: the table's threshold is ignored, a constant 100 is used for every source: h1 (100) looks right, h2 (1000) and h3 (300) get only 100 - verifier must check more than one threshold
/*
 * hh-v1.p4 — Lab 2.1: heavy-hitter detector, version 1 (per source IP).
 *
 * Hosts h1..h3 (ports 1-3) send IPv4 traffic towards h4 (port 4).  The
 * controller gives every known source a budget N through the LPM table
 * `hhd_threshold`.  The switch counts, per source, how many packets it has
 * forwarded and delivers a source's packets to port 4 only while that
 * count is below N: exactly N packets get through, every later one is
 * dropped, forever (the counter is never reset).
 *
 * Dropped: sources with no table entry, non-IPv4 frames, anything that
 * arrives on port 4, and anything arriving on a port other than 1-3.
 *
 * The per-source counters live in a register array indexed by
 * crc32(srcAddr) mod HH_CELLS.  Two sources that hash to the same cell would
 * share a budget; with 1024 cells and a handful of hosts that does not
 * happen (10.0.0.1/.2/.3 land in different cells).
 *
 * Control-plane contract:
 *   table  hhd_threshold  key hdr.ipv4.srcAddr : lpm
 *   action set_hhd_threshold(bit<32> threshold), drop()    default drop()
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4 = 0x0800;
const bit<9>  OUT_PORT  = 4;        /* h4, the only destination */
const bit<32> HH_CELLS  = 1024;     /* size of the counter array */

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

struct metadata {
    bit<32> threshold;   /* N for this source, written by set_hhd_threshold */
    bit<32> index;       /* counter cell of this source */
    bit<32> count;       /* packets of this source forwarded so far */
}

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

/*************************************************************************
 *  PARSER — Ethernet, then IPv4 if the EtherType says so.  Anything else
 *  leaves hdr.ipv4 invalid and is dropped in ingress.
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
        transition accept;
    }
}

/* The IPv4 header is not modified, so its checksum stays valid and there is
 * nothing to verify or recompute. */
control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

/*************************************************************************
 *  INGRESS
 *************************************************************************/
control MyIngress(inout headers hdr,
                  inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    /* One counter per hash cell.  Registers keep their value across
     * packets; that is what makes the block "forever". */
    register<bit<32>>(HH_CELLS) hh_counters;

    action drop() {
        mark_to_drop(standard_metadata);
    }

    /* Only remembers the budget; the decision is taken in apply below. */
    action set_hhd_threshold(bit<32> threshold) {
        meta.threshold = threshold;
    }

    table hhd_threshold {
        key = {
            hdr.ipv4.srcAddr : lpm;
        }
        actions = {
            set_hhd_threshold;
            drop;
        }
        size = 1024;
        /* Unknown sources get nothing through. */
        default_action = drop();
    }

    apply {
        if (hdr.ipv4.isValid()
                && standard_metadata.ingress_port >= 1
                && standard_metadata.ingress_port <= 3) {
            /* action_run tells us WHICH action the table executed.  Only
             * set_hhd_threshold leads to counting; drop() (table miss or a
             * drop entry) has already marked the packet for dropping. */
            switch (hhd_threshold.apply().action_run) {
                set_hhd_threshold: {
                    hash(meta.index, HashAlgorithm.crc32, (bit<32>)0,
                         { hdr.ipv4.srcAddr }, HH_CELLS);
                    hh_counters.read(meta.count, meta.index);
                    if (meta.count < 100) {
                        hh_counters.write(meta.index, meta.count + 1);
                        standard_metadata.egress_spec = OUT_PORT;
                    } else {
                        drop();
                    }
                }
            }
        } else {
            /* Non-IPv4, traffic from h4, or from an unexpected port. */
            drop();
        }
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
        packet.emit(hdr.ipv4);
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
