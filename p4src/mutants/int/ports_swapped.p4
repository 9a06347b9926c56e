// MUTANT: a hop records egress port ++ ingress port instead of ingress ++ egress - verifier must check both ports of every hop
/*
 * int.p4 — In-band Network Telemetry, embed-data mode (INT-MD over UDP).
 *
 *   h1 -- s1 -- s2 -- s3 -- h2          collector c1 on s3
 *
 * Every switch runs this program; the control plane gives each its role:
 *   SOURCE (s1)  UDP flows on the watchlist get INT: a shim and an INT-MD header
 *                are inserted right after the UDP header, the DSCP is set to
 *                INT_DSCP (the original DSCP is kept in the shim), UDP length and
 *                IPv4 total length grow accordingly.
 *   EVERY HOP    pushes its metadata onto the front of the stack, as the
 *                instruction bitmap asks, while the remaining hop count allows
 *                (else it sets the E "exceeded" flag and pushes nothing).
 *   SINK (s3, port toward h2)  sends a telemetry report to the collector: a copy
 *                of the packet (I2E clone) carrying the whole stack including the
 *                sink's own metadata, addressed to the collector's MAC; and
 *                strips everything INT added from the packet itself, so h2
 *                receives the original (only TTL and IPv4 checksum changed).
 *
 * Wire format (network byte order):
 *   shim (4 B)    type:4 (1 = INT-MD) npt:2 (0) rsvd:2 len:8 (words of shim + MD header
 *                 + stack) rsvd:10 orig_dscp:6
 *   MD header (12 B)  ver:4 (2) d:1 e:1 m:1 rsvd:12 hop_ml:5 (words per hop)
 *                 remaining_hop_cnt:8 instruction_bitmap:16 domain_id:16
 *                 ds_instruction:16 ds_flags:16
 *   stack         per hop, newest hop first, for each instruction bit set, in
 *                 bit order (bit 0 = most significant bit of the bitmap):
 *                   bit 0  node id                                  1 word
 *                   bit 1  ingress port (16) ++ egress port (16)    1 word
 *                   bit 2  hop latency, µs (egress - ingress time)   1 word
 *                   bit 3  queue id (8) ++ queue occupancy (24)     1 word
 *                   bit 4  ingress timestamp, µs (64)                2 words
 *                   bit 5  egress timestamp, µs (64)                 2 words
 *
 * Control-plane contract:
 *   table ipv4_lpm      key hdr.ipv4.dstAddr lpm; ipv4_forward(dstAddr, port), drop
 *   table int_watchlist key srcAddr, dstAddr (ternary), hdr.udp.srcPort,
 *                       hdr.udp.dstPort (ternary); action
 *                       int_source(bit<8> max_hop, bit<16> instructions); NoAction
 *   table int_switch    (no key) default action int_set_switch_id(bit<32> switch_id)
 *   table int_sink      key standard_metadata.egress_spec exact; action
 *                       int_sink_report(bit<32> session, bit<48> collector_mac); NoAction
 *   clone session `session` -> the collector's port
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4 = 0x0800;
const bit<8>  PROTO_UDP = 17;
const bit<6>  INT_DSCP  = 0x17;
const bit<8>  SHIM_MD_WORDS = 4;      /* shim (1) + INT-MD header (3) */
const bit<16> SHIM_MD_BYTES = 16;
#define MAX_WORDS 32                 /* the stack: up to 4 hops of 8 words */

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
    bit<6>    dscp;
    bit<2>    ecn;
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

header udp_t {
    bit<16> srcPort;
    bit<16> dstPort;
    bit<16> length;
    bit<16> checksum;
}

header int_shim_t {
    bit<4>  int_type;
    bit<2>  npt;
    bit<2>  rsvd1;
    bit<8>  len;
    bit<10> rsvd2;
    bit<6>  orig_dscp;
}

header int_md_t {
    bit<4>  ver;
    bit<1>  d;
    bit<1>  e;
    bit<1>  m;
    bit<12> rsvd;
    bit<5>  hop_ml;
    bit<8>  remaining_hop_cnt;
    bit<16> instructions;
    bit<16> domain_id;
    bit<16> ds_instruction;
    bit<16> ds_flags;
}

header int_word_t {
    bit<32> data;
}

struct metadata {
    bit<8>  words_left;      /* parser: stack words still to extract */
    bit<1>  source;          /* this switch adds INT to this packet */
    bit<1>  sink;            /* this switch removes it (and reports) */
    bit<8>  max_hop;
    bit<16> instructions;
    bit<32> switch_id;
    /* kept for the report copy (a clone gets these values as they are at the end
     * of ingress; its other metadata starts at 0) */
    @field_list(1)
    bit<9>  sink_ingress_port; /* the original's ports and arrival time */
    @field_list(1)
    bit<9>  sink_egress_port;
    @field_list(1)
    bit<48> sink_ingress_ts;
    @field_list(1)
    macAddr_t collector_mac;
}

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    udp_t      udp;
    int_shim_t int_shim;
    int_md_t   int_md;
    int_word_t[MAX_WORDS] int_stack;
}

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
            PROTO_UDP: parse_udp;
            default:   accept;
        }
    }

    state parse_udp {
        packet.extract(hdr.udp);
        transition select(hdr.ipv4.dscp) {
            INT_DSCP: parse_int_shim;
            default:  accept;
        }
    }

    state parse_int_shim {
        packet.extract(hdr.int_shim);
        packet.extract(hdr.int_md);
        meta.words_left = hdr.int_shim.len - SHIM_MD_WORDS;
        transition select(meta.words_left) {
            0:       accept;
            default: parse_int_word;
        }
    }

    state parse_int_word {
        packet.extract(hdr.int_stack.next);
        meta.words_left = meta.words_left - 1;
        transition select(meta.words_left) {
            0:       accept;
            default: parse_int_word;
        }
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply {
        verify_checksum(
            hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp, hdr.ipv4.ecn, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum,
            HashAlgorithm.csum16);
    }
}

control MyIngress(inout headers hdr,
                  inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    action drop() {
        mark_to_drop(standard_metadata);
    }

    action ipv4_forward(macAddr_t dstAddr, egressSpec_t port) {
        hdr.ethernet.srcAddr = hdr.ethernet.dstAddr;
        hdr.ethernet.dstAddr = dstAddr;
        standard_metadata.egress_spec = port;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }

    table ipv4_lpm {
        key = { hdr.ipv4.dstAddr : lpm; }
        actions = { ipv4_forward; drop; NoAction; }
        size = 1024;
        default_action = drop();
    }

    action int_source(bit<8> max_hop, bit<16> instructions) {
        meta.source = 1;
        meta.max_hop = max_hop;
        meta.instructions = instructions;
    }

    table int_watchlist {
        key = {
            hdr.ipv4.srcAddr : ternary;
            hdr.ipv4.dstAddr : ternary;
            hdr.udp.srcPort  : ternary;
            hdr.udp.dstPort  : ternary;
        }
        actions = { int_source; NoAction; }
        size = 64;
        default_action = NoAction();
    }

    action int_sink_report(bit<32> session, macAddr_t collector_mac) {
        meta.sink = 1;
        meta.sink_ingress_port = standard_metadata.ingress_port;
        meta.sink_egress_port = standard_metadata.egress_spec;
        meta.sink_ingress_ts = standard_metadata.ingress_global_timestamp;
        meta.collector_mac = collector_mac;
        /* the copy keeps the stack as it arrived; egress adds this hop to it */
        clone_preserving_field_list(CloneType.I2E, session, 1);
    }

    table int_sink {
        key = { standard_metadata.egress_spec : exact; }
        actions = { int_sink_report; NoAction; }
        size = 64;
        default_action = NoAction();
    }

    apply {
        if (!hdr.ipv4.isValid()) {
            drop();
            return;
        }
        ipv4_lpm.apply();
        if (hdr.udp.isValid() && !hdr.int_shim.isValid()) {
            int_watchlist.apply();
        }
        if (hdr.int_shim.isValid() || meta.source == 1) {
            int_sink.apply();
        }
    }
}

control MyEgress(inout headers hdr,
                 inout metadata meta,
                 inout standard_metadata_t standard_metadata) {

    action int_set_switch_id(bit<32> switch_id) {
        meta.switch_id = switch_id;
    }

    table int_switch {
        actions = { int_set_switch_id; NoAction; }
        default_action = NoAction();
    }

    /* Insert the shim and the INT-MD header (no hop yet). */
    action add_int_header() {
        hdr.int_shim.setValid();
        hdr.int_shim.int_type = 1;
        hdr.int_shim.npt = 0;
        hdr.int_shim.rsvd1 = 0;
        hdr.int_shim.len = SHIM_MD_WORDS;
        hdr.int_shim.rsvd2 = 0;
        hdr.int_shim.orig_dscp = hdr.ipv4.dscp;
        hdr.int_md.setValid();
        hdr.int_md.ver = 2;
        hdr.int_md.d = 0;
        hdr.int_md.e = 0;
        hdr.int_md.m = 0;
        hdr.int_md.rsvd = 0;
        hdr.int_md.hop_ml = 0;
        hdr.int_md.remaining_hop_cnt = meta.max_hop;
        hdr.int_md.instructions = meta.instructions;
        hdr.int_md.domain_id = 0;
        hdr.int_md.ds_instruction = 0;
        hdr.int_md.ds_flags = 0;
        hdr.ipv4.dscp = INT_DSCP;
        hdr.ipv4.totalLen = hdr.ipv4.totalLen + SHIM_MD_BYTES;
        hdr.udp.length = hdr.udp.length + SHIM_MD_BYTES;
    }

    /* Push one 32-bit word onto the front of the stack. */
    action push(bit<32> word) {
        hdr.int_stack.push_front(1);
        hdr.int_stack[0].setValid();
        hdr.int_stack[0].data = word;
    }

    /* This hop's metadata, pushed last field first so that the hop's record reads in
     * bit order; then the lengths grow by the record. */
    action add_hop(bit<9> ingress_port, bit<9> egress_port, bit<48> ingress_time) {
        bit<16> ins = hdr.int_md.instructions;
        bit<8> words = 0;
        bit<64> egress_ts = (bit<64>)standard_metadata.egress_global_timestamp;
        bit<64> ingress_ts = (bit<64>)ingress_time;
        if ((ins & 0x0400) != 0) {   /* bit 5: egress timestamp */
            push(egress_ts[31:0]);
            push(egress_ts[63:32]);
            words = words + 2;
        }
        if ((ins & 0x0800) != 0) {   /* bit 4: ingress timestamp */
            push(ingress_ts[31:0]);
            push(ingress_ts[63:32]);
            words = words + 2;
        }
        if ((ins & 0x1000) != 0) {   /* bit 3: queue id ++ occupancy */
            push((bit<8>)0 ++ (bit<24>)standard_metadata.deq_qdepth);
            words = words + 1;
        }
        if ((ins & 0x2000) != 0) {   /* bit 2: hop latency */
            push((bit<32>)(standard_metadata.egress_global_timestamp - ingress_time));
            words = words + 1;
        }
        if ((ins & 0x4000) != 0) {   /* bit 1: ingress port ++ egress port */
            push((bit<16>)egress_port ++ (bit<16>)ingress_port);
            words = words + 1;
        }
        if ((ins & 0x8000) != 0) {   /* bit 0: node id */
            push(meta.switch_id);
            words = words + 1;
        }
        hdr.int_md.hop_ml = (bit<5>)words;
        hdr.int_md.remaining_hop_cnt = hdr.int_md.remaining_hop_cnt - 1;
        hdr.int_shim.len = hdr.int_shim.len + words;
        hdr.ipv4.totalLen = hdr.ipv4.totalLen + 4 * (bit<16>)words;
        hdr.udp.length = hdr.udp.length + 4 * (bit<16>)words;
    }

    /* Everything INT added goes: lengths, DSCP and the UDP packet as they were. */
    action strip_int() {
        bit<16> bytes = 4 * (bit<16>)hdr.int_shim.len;
        hdr.ipv4.totalLen = hdr.ipv4.totalLen - bytes;
        hdr.udp.length = hdr.udp.length - bytes;
        hdr.ipv4.dscp = hdr.int_shim.orig_dscp;
        hdr.int_shim.setInvalid();
        hdr.int_md.setInvalid();
        hdr.int_stack.pop_front(MAX_WORDS);
    }

    apply {
        int_switch.apply();
        bit<9> ingress_port = standard_metadata.ingress_port;
        bit<9> egress_port = standard_metadata.egress_port;
        bit<48> ingress_time = standard_metadata.ingress_global_timestamp;
        bool report = standard_metadata.instance_type == 1;   /* the I2E clone */
        if (report) {
            /* the telemetry report: this hop's record describes the original (a
             * clone's own ingress port and time are not the original's) */
            ingress_port = meta.sink_ingress_port;
            egress_port = meta.sink_egress_port;
            ingress_time = meta.sink_ingress_ts;
            hdr.ethernet.dstAddr = meta.collector_mac;
        }
        if (meta.source == 1) {
            add_int_header();
        }
        if (hdr.int_md.isValid() && (meta.sink == 0 || report)) {
            if (hdr.int_md.remaining_hop_cnt == 0) {
                hdr.int_md.e = 1;
            } else {
                add_hop(ingress_port, egress_port, ingress_time);
            }
        }
        if (meta.sink == 1 && !report) {
            strip_int();
        }
    }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(
            hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp, hdr.ipv4.ecn, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum,
            HashAlgorithm.csum16);
    }
}

control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.udp);
        packet.emit(hdr.int_shim);
        packet.emit(hdr.int_md);
        packet.emit(hdr.int_stack);
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
