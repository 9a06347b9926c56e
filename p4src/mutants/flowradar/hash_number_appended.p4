// MUTANT: each hash reads the flow id in the same order followed by its number (the usual first try): CRCs are linear, so all three cells and filter bits of a flow are one position plus constants, and flows sharing one cell share all - verifier must compare positions with the reference
/*
 * flowradar.p4 — FlowRadar encoder (Li et al., NSDI 2016) on an IPv4 router.
 *
 * Every switch of the line runs this program.  It routes IPv4 (LPM on the
 * destination, TTL - 1, checksum recomputed) and encodes every TCP or UDP
 * packet it receives into two structures that a collector reads and resets
 * once per epoch:
 *
 *   FLOW FILTER  a Bloom filter of FILTER_BITS single bits, FILTER_HASHES hashes
 *                of the flow id: a packet whose bits are all set belongs to a
 *                flow seen before in this epoch.
 *   COUNTING TABLE  CELLS cells in PARTS equal parts; hash i picks one cell in
 *                part i.  Per cell: FlowXOR (XOR of the ids of the flows that
 *                hash there, in two registers of <= 64 bits: the collector reads
 *                registers over BMv2's Thrift runtime as 64-bit values),
 *                FlowCount (how many flows) and PacketCount (how many packets).
 *
 *   New flow (some filter bit unset): set its filter bits; in each of its PARTS
 *   cells XOR the flow id, FlowCount += 1, PacketCount += 1.
 *   Known flow: PacketCount += 1 in each of its cells.
 *
 * Control-plane and collector contract (a program with these names and this
 * hashing runs under the lab's controller, verifier and collector):
 *   table  ipv4_lpm  key hdr.ipv4.dstAddr : lpm
 *   action ipv4_forward(bit<48> dstAddr, bit<9> port), drop(), NoAction; default drop()
 *   flow id = srcAddr ++ dstAddr ++ srcPort ++ dstPort ++ protocol (104 bits)
 *   register<bit<1>>  flow_filter      [FILTER_BITS]
 *   register<bit<64>> flow_xor_addrs   [CELLS]  srcAddr ++ dstAddr
 *   register<bit<40>> flow_xor_ports   [CELLS]  srcPort ++ dstPort ++ protocol
 *   register<bit<32>> flow_count       [CELLS]
 *   register<bit<32>> packet_count     [CELLS]
 *   hash input k (k = 0..2), the fields big-endian in this order:
 *     0: srcAddr dstAddr srcPort dstPort protocol
 *     1: dstAddr srcAddr dstPort srcPort protocol
 *     2: srcPort dstPort protocol srcAddr dstAddr
 *   filter bit j = crc32(input j) mod FILTER_BITS
 *   cell i       = i * PART_CELLS + crc16(input i) mod PART_CELLS
 *   (BMv2's crc32 is zlib's CRC-32, its crc16 is CRC-16/ARC.)  The sizes may
 *   change: the collector reads them from the P4Info.
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4   = 0x0800;
const bit<8>  PROTO_TCP   = 6;
const bit<8>  PROTO_UDP   = 17;
const bit<32> FILTER_BITS = 4096;
const bit<32> PART_CELLS  = 32;    /* 3 parts: CELLS = 96 */
const bit<32> CELLS       = 96;

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

/* Only the ports are needed from TCP and UDP: both start with them. */
header ports_t {
    bit<16> srcPort;
    bit<16> dstPort;
}

struct metadata {
    bit<32> bit0;        /* flow filter positions */
    bit<32> bit1;
    bit<32> bit2;
    bit<1>  seen0;       /* the filter bits found there */
    bit<1>  seen1;
    bit<1>  seen2;
    bit<32> cell0;       /* counting table cells, one per part */
    bit<32> cell1;
    bit<32> cell2;
}

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    ports_t    ports;
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
            PROTO_TCP: parse_ports;
            PROTO_UDP: parse_ports;
            default:   accept;
        }
    }

    state parse_ports {
        packet.extract(hdr.ports);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply {
        verify_checksum(
            hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum,
            HashAlgorithm.csum16);
    }
}

control MyIngress(inout headers hdr,
                  inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    register<bit<1>>(FILTER_BITS) flow_filter;
    register<bit<64>>(CELLS) flow_xor_addrs;
    register<bit<40>>(CELLS) flow_xor_ports;
    register<bit<32>>(CELLS) flow_count;
    register<bit<32>>(CELLS) packet_count;

    action drop() {
        mark_to_drop(standard_metadata);
    }

    action ipv4_forward(macAddr_t dstAddr, egressSpec_t port) {
        hdr.ethernet.srcAddr = hdr.ethernet.dstAddr;
        hdr.ethernet.dstAddr = dstAddr;
        standard_metadata.egress_spec = port;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;   /* checksum: MyComputeChecksum */
    }

    table ipv4_lpm {
        key = { hdr.ipv4.dstAddr : lpm; }
        actions = { ipv4_forward; drop; NoAction; }
        size = 1024;
        default_action = drop();
    }

    /* Hash j (filter) and hash i (cells) read the flow id's fields in order j or i.
     * Not the id followed by a hash number: CRCs are linear, so crc(id ++ 1) is
     * crc(id ++ 0) XOR a constant, and two flows sharing one cell would share a
     * cell in every part (and their filter bits): no decoder could separate them. */
    action positions() {
        hash(meta.bit0, HashAlgorithm.crc32, (bit<32>)0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
               hdr.ipv4.protocol }, FILTER_BITS);
        hash(meta.bit1, HashAlgorithm.crc32, (bit<32>)0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
               hdr.ipv4.protocol, (bit<8>)1 }, FILTER_BITS);
        hash(meta.bit2, HashAlgorithm.crc32, (bit<32>)0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
               hdr.ipv4.protocol, (bit<8>)2 }, FILTER_BITS);
        /* part i is cells [i * PART_CELLS, (i + 1) * PART_CELLS) */
        hash(meta.cell0, HashAlgorithm.crc16, (bit<32>)0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
               hdr.ipv4.protocol }, PART_CELLS);
        hash(meta.cell1, HashAlgorithm.crc16, PART_CELLS,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
               hdr.ipv4.protocol, (bit<8>)1 }, PART_CELLS);
        hash(meta.cell2, HashAlgorithm.crc16, 2 * PART_CELLS,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
               hdr.ipv4.protocol, (bit<8>)2 }, PART_CELLS);
    }

    /* One cell of a new flow: XOR its id in, one more flow, one more packet. */
    action add_flow(bit<32> cell) {
        bit<64> addrs;
        bit<40> ports;
        bit<32> n;
        flow_xor_addrs.read(addrs, cell);
        flow_xor_addrs.write(cell, addrs ^ (hdr.ipv4.srcAddr ++ hdr.ipv4.dstAddr));
        flow_xor_ports.read(ports, cell);
        flow_xor_ports.write(cell, ports ^ (hdr.ports.srcPort ++ hdr.ports.dstPort
                                            ++ hdr.ipv4.protocol));
        flow_count.read(n, cell);
        flow_count.write(cell, n + 1);
        packet_count.read(n, cell);
        packet_count.write(cell, n + 1);
    }

    /* One cell of a known flow: one more packet. */
    action add_packet(bit<32> cell) {
        bit<32> n;
        packet_count.read(n, cell);
        packet_count.write(cell, n + 1);
    }

    apply {
        if (!hdr.ipv4.isValid()) {
            drop();
            return;
        }
        ipv4_lpm.apply();
        if (hdr.ports.isValid()) {   /* TCP or UDP: encode */
            positions();
            flow_filter.read(meta.seen0, meta.bit0);
            flow_filter.read(meta.seen1, meta.bit1);
            flow_filter.read(meta.seen2, meta.bit2);
            if (meta.seen0 == 0 || meta.seen1 == 0 || meta.seen2 == 0) {
                flow_filter.write(meta.bit0, 1);
                flow_filter.write(meta.bit1, 1);
                flow_filter.write(meta.bit2, 1);
                add_flow(meta.cell0);
                add_flow(meta.cell1);
                add_flow(meta.cell2);
            } else {
                add_packet(meta.cell0);
                add_packet(meta.cell1);
                add_packet(meta.cell2);
            }
        }
    }
}

control MyEgress(inout headers hdr,
                 inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(
            hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
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
        packet.emit(hdr.ports);
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
