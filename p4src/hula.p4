/*
 * hula.p4 — HULA: congestion-aware load balancing in the data plane (SOSR 2016).
 *
 *   tor1  tor2  tor3        leaves (ToRs), one host each on port 1
 *     \ \/  \/ /            uplinks: port 2 -> spine1, port 3 -> spine2
 *   spine1  spine2          spine port N -> torN
 *
 * Every switch runs this program; tor_config gives a ToR its id (spines: 0).
 *
 * PROBES (EtherType 0x4855). A host sends a probe request into its ToR; the ToR
 * makes it its own probe (origin = its id, path utilisation 0) and floods it up to
 * every spine (multicast group 1). Each switch a probe reaches folds in the
 * utilisation of the link the probe came in on, in the direction data toward the
 * probe's origin would use it (the egress utilisation of that very port), keeps
 * per origin ToR the best next hop and its path utilisation, and (spines only)
 * floods the probe on to the other ToRs (multicast group = the ingress port).
 * ToRs consume probes. A best hop is replaced by a better path, refreshed by a
 * probe through the same hop, or replaced after KEEPALIVE without refresh.
 *
 * UTILISATION per egress port: a discounting rate estimator in registers, driven
 * by packet timestamps: U <- bytes + U * (1 - dt / TAU) (dt >= TAU: U <- bytes),
 * TAU = 2^LOG_TAU µs; a probe reads it decayed to the probe's arrival time. Every
 * timestamp is an ingress one, so no update is later than a probe that reads it.
 *
 * DATA at a ToR toward another ToR: per FLOWLET (crc16 of the 5-tuple, FLOWLET_SLOTS
 * slots) the hop chosen when the flowlet started is kept while packets keep coming
 * less than FLOWLET_GAP apart, so a flow never reorders; a new flowlet takes the
 * current best hop toward the destination ToR.
 *
 * Control-plane contract:
 *   table tor_config (no key) default set_tor(bit<8> tor_id)      ToRs only
 *   table hosts  key hdr.ipv4.dstAddr exact:
 *        to_host(bit<48> mac, bit<9> port)   (ToR: its own host)
 *        to_tor(bit<8> tor)                  (ToR: a host behind another ToR)
 *        forward(bit<9> port)                (spine: the port toward the host's ToR)
 *   multicast groups: ToR 1 = its uplinks; spine p = its ToR ports except p
 *   register<bit<32>>(MAX_TORS) best_hop    the port toward each ToR (index: ToR id)
 *   register<bit<32>>(MAX_TORS) best_util  that path's utilisation (bytes per TAU)
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4  = 0x0800;
const bit<16> TYPE_PROBE = 0x4855;
const bit<8>  PROTO_TCP  = 6;
const bit<8>  PROTO_UDP  = 17;
#define MAX_TORS 8
#define PORTS 16
#define FLOWLET_SLOTS 1024
const bit<48> FLOWLET_GAP = 50000;      /* µs */
const bit<48> KEEPALIVE   = 1000000;    /* µs */
const bit<48> TAU         = 131072;     /* µs = 2^17 */
#define LOG_TAU 17

typedef bit<9>  egressSpec_t;
typedef bit<48> macAddr_t;
typedef bit<32> ip4Addr_t;

header ethernet_t {
    macAddr_t dstAddr;
    macAddr_t srcAddr;
    bit<16>   etherType;
}

header probe_t {
    bit<8>  origin;        /* ToR id; 0 in a host's probe request */
    bit<32> max_util;      /* worst utilisation on the path so far */
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

header ports_t {
    bit<16> srcPort;
    bit<16> dstPort;
}

struct metadata {
    bit<8>  tor_id;
    bit<8>  dst_tor;
    bit<32> util;
}

struct headers {
    ethernet_t ethernet;
    probe_t    probe;
    ipv4_t     ipv4;
    ports_t    ports;
}

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            TYPE_IPV4:  parse_ipv4;
            TYPE_PROBE: parse_probe;
            default:    accept;
        }
    }
    state parse_probe {
        packet.extract(hdr.probe);
        transition accept;
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

control MyVerifyChecksum(inout headers hdr, inout metadata meta) { apply { } }

/* The utilisation estimator of each egress port: written by egress for every data
 * packet sent, read by ingress when a probe comes in (shared, so declared here). */
register<bit<32>>(PORTS) port_util;
register<bit<48>>(PORTS) port_util_time;

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {

    register<bit<32>>(MAX_TORS) best_hop;
    register<bit<32>>(MAX_TORS) best_util;
    register<bit<48>>(MAX_TORS) best_time;
    register<bit<32>>(FLOWLET_SLOTS) flowlet_hop;
    register<bit<48>>(FLOWLET_SLOTS) flowlet_time;

    action drop() {
        mark_to_drop(standard_metadata);
    }

    action set_tor(bit<8> tor_id) {
        meta.tor_id = tor_id;
    }

    table tor_config {
        actions = { set_tor; NoAction; }
        default_action = NoAction();
    }

    action to_host(macAddr_t mac, egressSpec_t port) {
        hdr.ethernet.dstAddr = mac;
        standard_metadata.egress_spec = port;
    }

    action to_tor(bit<8> tor) {
        meta.dst_tor = tor;
    }

    action forward(egressSpec_t port) {
        standard_metadata.egress_spec = port;
    }

    table hosts {
        key = { hdr.ipv4.dstAddr : exact; }
        actions = { to_host; to_tor; forward; drop; }
        size = 64;
        default_action = drop();
    }

    /* Utilisation of egress port `port` now: the estimator decayed to this moment. */
    action read_util(bit<32> port) {
        bit<32> u;
        bit<48> then;
        port_util.read(u, port);
        port_util_time.read(then, port);
        bit<48> dt = standard_metadata.ingress_global_timestamp - then;
        if (dt >= TAU) {
            meta.util = 0;
        } else {
            meta.util = u - (bit<32>)(((bit<64>)u * (bit<64>)dt) >> LOG_TAU);
        }
    }

    apply {
        tor_config.apply();
        if (hdr.probe.isValid()) {
            if (meta.tor_id != 0 && hdr.probe.origin == 0) {
                /* a host's request: this ToR's own probe, up to every spine */
                hdr.probe.origin = meta.tor_id;
                hdr.probe.max_util = 0;
                standard_metadata.mcast_grp = 1;
                return;
            }
            bit<32> in_port = (bit<32>)standard_metadata.ingress_port;
            read_util(in_port);
            bit<32> path_util = hdr.probe.max_util;
            if (meta.util > path_util) {
                path_util = meta.util;
            }
            hdr.probe.max_util = path_util;
            bit<32> origin = (bit<32>)hdr.probe.origin;
            bit<32> hop;
            bit<32> util;
            bit<48> seen;
            best_hop.read(hop, origin);
            best_util.read(util, origin);
            best_time.read(seen, origin);
            bit<48> now = standard_metadata.ingress_global_timestamp;
            if (hop == 0 || path_util < util || hop == in_port || now - seen > KEEPALIVE) {
                best_hop.write(origin, in_port);
                best_util.write(origin, path_util);
                best_time.write(origin, now);
            }
            if (meta.tor_id == 0) {
                standard_metadata.mcast_grp = (bit<16>)standard_metadata.ingress_port;
            } else {
                drop();   /* ToRs consume probes */
            }
            return;
        }
        if (!hdr.ipv4.isValid()) {
            drop();
            return;
        }
        hosts.apply();
        if (meta.dst_tor != 0) {
            /* toward another ToR: the flowlet's hop, or the best hop for a new flowlet */
            bit<32> slot;
            hash(slot, HashAlgorithm.crc16, (bit<32>)0,
                 { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ports.srcPort, hdr.ports.dstPort,
                   hdr.ipv4.protocol }, (bit<32>)FLOWLET_SLOTS);
            bit<32> hop;
            bit<48> last;
            flowlet_hop.read(hop, slot);
            flowlet_time.read(last, slot);
            bit<48> now = standard_metadata.ingress_global_timestamp;
            if (hop == 0 || now - last > FLOWLET_GAP) {
                best_hop.read(hop, (bit<32>)meta.dst_tor);
                flowlet_hop.write(slot, hop);
            }
            flowlet_time.write(slot, now);
            if (hop == 0) {
                drop();   /* no probe has told this ToR a way there yet */
            } else {
                standard_metadata.egress_spec = (egressSpec_t)hop;
            }
        }
    }
}

control MyEgress(inout headers hdr, inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply {
        if (hdr.ipv4.isValid()) {
            /* the estimator: U <- bytes + U * (1 - dt / TAU) */
            bit<32> port = (bit<32>)standard_metadata.egress_port;
            bit<32> u;
            bit<48> then;
            port_util.read(u, port);
            port_util_time.read(then, port);
            /* on the ingress clock, as probes read it: a probe may arrive while this
             * packet waits for egress, and a later egress time would make the probe's
             * dt = now - then wrap around (it would read an idle link) */
            bit<48> now = standard_metadata.ingress_global_timestamp;
            bit<48> dt = now - then;
            if (dt >= TAU) {
                u = standard_metadata.packet_length;
            } else {
                u = standard_metadata.packet_length + u
                    - (bit<32>)(((bit<64>)u * (bit<64>)dt) >> LOG_TAU);
            }
            port_util.write(port, u);
            port_util_time.write(port, now);
        }
    }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) { apply { } }

control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.probe);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.ports);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
