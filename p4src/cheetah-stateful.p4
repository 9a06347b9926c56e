/*
 * cheetah-stateful.p4 — Cheetah load balancer, stateful variant (NSDI 2020).
 *
 *   clients h1, h2 -- s1 -- backends h3, h4, h5, h6      VIP 10.0.0.100
 *
 * Like p4src/cheetah.p4 (round robin over a control-plane pool, cookies in TCP
 * timestamps, the timestamp option hidden from backends), but s1 keeps a
 * CONNECTION TABLE in registers and the cookie is the connection's index in it:
 *   - a SYN to the VIP takes a free index (from a stack of freed indexes, else a
 *     never-used one), and the table keeps the backend, hash_S of the connection
 *     (crc16 over client IP, client port, VIP, VIP port, salt) and the low 16 bits
 *     of the SYN's TSval; the SYN's TSval carries the index to the backend, which
 *     echoes it in TSecr on everything it sends (it sees no later client TSval);
 *   - backend -> client: index = TSecr[15:0]; TSecr gets the client's own low bits
 *     back (a Linux client accepts a SYN-ACK only if it echoes its SYN's TSval),
 *     TSval carries the index to the client as the cookie, source = VIP;
 *   - client -> VIP: index = TSecr[15:0]; the packet must belong to the connection
 *     stored there (same hash_S), else it is dropped (a forged cookie); FIN or RST
 *     from the client, or RST from the server (after which the client sends nothing),
 *     frees the index (once: conn_live).
 *
 * Control-plane contract: as p4src/cheetah.p4 (forward, vip, pool, servers,
 * backends, rr_next); CONNS connection slots (index 0 is never used).
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4 = 0x0800;
const bit<8>  PROTO_TCP = 6;
#define CONNS 32

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

/* The options in front of the timestamp option in Linux's layouts. */
header syn_opts_t {            /* SYN, SYN-ACK: MSS (4), SACK-permitted (2) */
    bit<32> mss;
    bit<16> sack_permitted;
}

header nop2_t {                /* later segments: NOP, NOP */
    bit<16> nops;
}

header tcp_ts_t {
    bit<8>  kind;              /* 8 */
    bit<8>  length;            /* 10 */
    bit<32> tsval;
    bit<32> tsecr;
}

struct metadata {
    bit<32> salt;
    bit<32> pool_size;
    bit<32> pool_index;
    bit<16> server_id;
    bit<16> hash;
    bit<32> conn;
    bit<1>  to_vip;
    bit<1>  from_backend;
}

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    tcp_t      tcp;
    syn_opts_t syn_opts;
    nop2_t     nop2;
    tcp_ts_t   ts;
}

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
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
        /* the timestamp option's place in Linux's two layouts */
        transition select(hdr.tcp.dataOffset, packet.lookahead<bit<64>>()) {
            (4w5, _): accept;
            (_, 0x0204000004020000 &&& 0xFFFF0000FFFF0000): parse_syn_opts;
            (_, 0x0101080A00000000 &&& 0xFFFFFFFF00000000): parse_nop2;
            default: accept;
        }
    }

    state parse_syn_opts {
        packet.extract(hdr.syn_opts);
        transition select(packet.lookahead<bit<16>>()) {
            0x080A:  parse_ts;
            default: accept;
        }
    }

    state parse_nop2 {
        packet.extract(hdr.nop2);
        transition parse_ts;
    }

    state parse_ts {
        packet.extract(hdr.ts);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) { apply { } }

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    register<bit<32>>(1) rr_next;
    register<bit<16>>(CONNS) conn_server;   /* the connection table */
    register<bit<16>>(CONNS) conn_hash;
    register<bit<16>>(CONNS) conn_client_ts;
    register<bit<1>>(CONNS) conn_live;
    register<bit<16>>(CONNS) free_stack;    /* freed indexes */
    register<bit<32>>(1) free_top;
    register<bit<32>>(1) fresh;             /* next never-used index (0: start at 1) */

    action drop() {
        mark_to_drop(standard_metadata);
    }

    action set_egress(egressSpec_t port) {
        standard_metadata.egress_spec = port;
    }

    table forward {
        key = { hdr.ipv4.dstAddr : exact; }
        actions = { set_egress; drop; }
        size = 64;
        default_action = drop();
    }

    /* RFC 1624: HC' = ~(~HC + ~m + m'), for a 32-bit field of the checksummed data */
    action tcp_checksum_replace(bit<32> old, bit<32> new) {
        bit<32> sum = (bit<32>)(~hdr.tcp.checksum)
                      + (bit<32>)(~old[31:16]) + (bit<32>)(~old[15:0])
                      + (bit<32>)new[31:16] + (bit<32>)new[15:0];
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        hdr.tcp.checksum = ~sum[15:0];
    }

    /* RFC 1624 for a 16-bit field */
    action tcp_checksum_replace16(bit<16> old, bit<16> new) {
        bit<32> sum = (bit<32>)(~hdr.tcp.checksum) + (bit<32>)(~old) + (bit<32>)new;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        hdr.tcp.checksum = ~sum[15:0];
    }

    /* Toward the backend, the timestamp option becomes ten NOPs. Linux (>= 6.13)
     * accepts the ACK that completes a handshake only if its TSecr is a TSval the
     * backend really sent, and the client echoes the cookie instead; without the
     * option the backend has nothing to check (it still sends its own timestamps,
     * which carry the cookie). The option always sits at an even offset in the
     * TCP header, so whole 16-bit words change. */
    action hide_timestamp() {
        tcp_checksum_replace16(hdr.ts.kind ++ hdr.ts.length, 0x0101);
        tcp_checksum_replace(hdr.ts.tsval, 0x01010101);
        tcp_checksum_replace(hdr.ts.tsecr, 0x01010101);
        hdr.ts.kind = 1;
        hdr.ts.length = 1;
        hdr.ts.tsval = 0x01010101;
        hdr.ts.tsecr = 0x01010101;
    }

    action vip_hit(bit<32> salt, bit<32> pool_size) {
        meta.to_vip = 1;
        meta.salt = salt;
        meta.pool_size = pool_size;
    }

    table vip {
        key = { hdr.ipv4.dstAddr : exact; }
        actions = { vip_hit; NoAction; }
        size = 16;
        default_action = NoAction();
    }

    action pick(bit<16> server_id) {
        meta.server_id = server_id;
    }

    table pool {
        key = { meta.pool_index : exact; }
        actions = { pick; drop; }
        size = 64;
        default_action = drop();
    }

    action to_server(ip4Addr_t ip, macAddr_t mac, egressSpec_t port) {
        tcp_checksum_replace(hdr.ipv4.dstAddr, ip);
        hdr.ipv4.dstAddr = ip;
        hdr.ethernet.dstAddr = mac;
        standard_metadata.egress_spec = port;
    }

    table servers {
        key = { meta.server_id : exact; }
        actions = { to_server; drop; }
        size = 64;
        default_action = drop();
    }

    action from_backend(bit<16> server_id, bit<32> salt, ip4Addr_t vip_ip, macAddr_t vip_mac) {
        meta.from_backend = 1;
        meta.server_id = server_id;
        meta.salt = salt;
        tcp_checksum_replace(hdr.ipv4.srcAddr, vip_ip);
        hdr.ipv4.srcAddr = vip_ip;
        hdr.ethernet.srcAddr = vip_mac;
    }

    table backends {
        key = { hdr.ipv4.srcAddr : exact; }
        actions = { from_backend; NoAction; }
        size = 64;
        default_action = NoAction();
    }

    /* Give meta.conn back to the free stack (the caller checked it is live and this
     * connection's). */
    action push_free() {
        bit<32> top;
        free_top.read(top, 0);
        free_stack.write(top, (bit<16>)meta.conn);
        free_top.write(0, top + 1);
        conn_live.write(meta.conn, 0);
    }

    /* Replace the low 16 bits of TSval / TSecr (checksum kept right). */
    action set_tsval_low(bit<16> low) {
        bit<32> v = hdr.ts.tsval[31:16] ++ low;
        tcp_checksum_replace(hdr.ts.tsval, v);
        hdr.ts.tsval = v;
    }

    action set_tsecr_low(bit<16> low) {
        bit<32> v = hdr.ts.tsecr[31:16] ++ low;
        tcp_checksum_replace(hdr.ts.tsecr, v);
        hdr.ts.tsecr = v;
    }

    apply {
        if (!hdr.ipv4.isValid()) {
            drop();
            return;
        }
        if (hdr.tcp.isValid()) {
            vip.apply();
            if (meta.to_vip == 1) {
                if (!hdr.ts.isValid()) {
                    drop();                       /* no timestamps: no cookie channel */
                    return;
                }
                /* client -> VIP: the connection is (src, srcPort, VIP, dstPort) */
                hash(meta.hash, HashAlgorithm.crc16, (bit<16>)0,
                     { hdr.ipv4.srcAddr, hdr.tcp.srcPort, hdr.ipv4.dstAddr, hdr.tcp.dstPort,
                       meta.salt }, (bit<32>)65536);
                if ((hdr.tcp.flags & 0x12) == 0x02) {          /* SYN without ACK: new */
                    bit<32> top;
                    free_top.read(top, 0);
                    if (top > 0) {
                        bit<16> index;
                        top = top - 1;
                        free_stack.read(index, top);
                        free_top.write(0, top);
                        meta.conn = (bit<32>)index;
                    } else {
                        bit<32> f;
                        fresh.read(f, 0);
                        if (f == 0) {
                            f = 1;
                        }
                        if (f >= CONNS) {
                            drop();                   /* the table is full */
                            return;
                        }
                        fresh.write(0, f + 1);
                        meta.conn = f;
                    }
                    rr_next.read(meta.pool_index, 0);
                    bit<32> next = meta.pool_index + 1;
                    if (next >= meta.pool_size) {
                        next = 0;
                    }
                    rr_next.write(0, next);
                    pool.apply();
                    conn_server.write(meta.conn, meta.server_id);
                    conn_hash.write(meta.conn, meta.hash);
                    conn_client_ts.write(meta.conn, hdr.ts.tsval[15:0]);
                    conn_live.write(meta.conn, 1);
                    set_tsval_low((bit<16>)meta.conn);   /* the backend will echo it */
                } else {
                    meta.conn = (bit<32>)hdr.ts.tsecr[15:0];
                    bit<16> stored;
                    conn_hash.read(stored, meta.conn);
                    if (meta.conn == 0 || meta.conn >= CONNS || stored != meta.hash) {
                        drop();                       /* not a connection of ours */
                        return;
                    }
                    conn_server.read(meta.server_id, meta.conn);
                    if ((hdr.tcp.flags & 0x05) != 0) {   /* FIN or RST: free the index */
                        bit<1> live;
                        conn_live.read(live, meta.conn);
                        if (live == 1) {           /* once */
                            push_free();
                        }
                    }
                    hide_timestamp();
                }
                servers.apply();
                return;
            }
            backends.apply();
            if (meta.from_backend == 1 && hdr.ts.isValid()) {
                /* backend -> client: TSecr echoes the index the SYN carried */
                meta.conn = (bit<32>)hdr.ts.tsecr[15:0];
                if (meta.conn != 0 && meta.conn < CONNS) {
                    if ((hdr.tcp.flags & 0x04) != 0) {
                        /* the server resets: the client will send nothing more, so the
                         * index is freed here (if it is this connection's) */
                        hash(meta.hash, HashAlgorithm.crc16, (bit<16>)0,
                             { hdr.ipv4.dstAddr, hdr.tcp.dstPort, hdr.ipv4.srcAddr,
                               hdr.tcp.srcPort, meta.salt }, (bit<32>)65536);
                        bit<1> live;
                        bit<16> stored;
                        conn_live.read(live, meta.conn);
                        conn_hash.read(stored, meta.conn);
                        if (live == 1 && stored == meta.hash) {
                            push_free();
                        }
                    }
                    bit<16> client_low;
                    conn_client_ts.read(client_low, meta.conn);
                    set_tsecr_low(client_low);
                    set_tsval_low((bit<16>)meta.conn);
                }
            }
        }
        forward.apply();
    }
}

control MyEgress(inout headers hdr, inout metadata meta,
                 inout standard_metadata_t standard_metadata) { apply { } }

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
        packet.emit(hdr.tcp);
        packet.emit(hdr.syn_opts);
        packet.emit(hdr.nop2);
        packet.emit(hdr.ts);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
