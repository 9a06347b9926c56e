// MUTANT: add_vlan_hdr puts 0x8100 into the tag and leaves the original EtherType outside: frames on the trunk are not 802.1Q-tagged correctly - verifier must check outer EtherType 0x8100 and the tag's inner EtherType
/*
 * vlan.p4 — Lab 1.3: an 802.1Q trunk/access switch.
 *
 * Port 1 is the TRUNK: every frame on it carries an 802.1Q tag.
 * Ports 2, 3, 4 are ACCESS ports: frames on them are untagged.
 *
 *   1. untagged frame on the trunk, or tagged frame on an access port
 *      -> dropped (it is on the wrong kind of port);
 *   2. tagged frame from the trunk -> vlan_table maps its VID to an access
 *      port (unknown VID -> port 2, the table's default); the tag is removed
 *      and the inner EtherType is put back into the Ethernet header;
 *   3. untagged frame from an access port -> port_to_vlan gives that port's
 *      VID; a tag (PCP 0, DEI 0, that VID, inner EtherType = the frame's
 *      original EtherType) is inserted and the frame leaves on the trunk.
 *
 * Wire format of a tagged frame:
 *   dst MAC | src MAC | 0x8100 | PCP(3) DEI(1) VID(12) | inner EtherType | payload
 *
 * Control-plane contract:
 *   table vlan_table    key hdr.vlan.vid : exact
 *         actions forward(bit<9> port), drop()       default forward(2)
 *   table port_to_vlan  key standard_metadata.ingress_port : exact
 *         actions add_vlan_hdr(bit<12> vid), drop()  default drop()
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_VLAN  = 0x8100;   /* 802.1Q TPID */
const bit<9>  TRUNK_PORT = 1;

typedef bit<9>  egressSpec_t;
typedef bit<48> macAddr_t;

header ethernet_t {
    macAddr_t dstAddr;
    macAddr_t srcAddr;
    bit<16>   etherType;
}

/* The 4 bytes that follow an outer EtherType of 0x8100.  Field order is the
 * on-the-wire order: PCP and DEI come BEFORE the VID. */
header vlan_t {
    bit<3>  pcp;        /* priority code point */
    bit<1>  dei;        /* drop eligible indicator */
    bit<12> vid;        /* VLAN id */
    bit<16> etherType;  /* EtherType of what follows the tag */
}

struct metadata {
    /* not needed in this lab */
}

struct headers {
    ethernet_t ethernet;
    vlan_t     vlan;
}

/*************************************************************************
 *  PARSER — the tag is parsed only if the outer EtherType says 0x8100, so
 *  hdr.vlan.isValid() tells us whether the frame arrived tagged.
 *************************************************************************/
parser MyParser(packet_in packet,
                out headers hdr,
                inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            TYPE_VLAN: parse_vlan;
            default:   accept;
        }
    }

    state parse_vlan {
        packet.extract(hdr.vlan);
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

    action drop() {
        mark_to_drop(standard_metadata);
    }

    /* Trunk -> access: the VID chooses the access port. */
    action forward(egressSpec_t port) {
        standard_metadata.egress_spec = port;
    }

    /* Access -> trunk: insert a tag carrying this port's VLAN.
     * The original EtherType moves INTO the tag and the outer EtherType
     * becomes the TPID 0x8100.  setValid() makes the deparser emit the tag
     * between Ethernet and the payload (see the emit order below). */
    action add_vlan_hdr(bit<12> vid) {
        hdr.vlan.setValid();
        hdr.vlan.pcp       = 0;
        hdr.vlan.dei       = 0;
        hdr.vlan.vid       = vid;
        hdr.vlan.etherType = TYPE_VLAN;
        standard_metadata.egress_spec = TRUNK_PORT;
    }

    table vlan_table {
        key = {
            hdr.vlan.vid : exact;
        }
        actions = {
            forward;
            drop;
        }
        size = 4096;
        /* Unknown VLANs are delivered on port 2 (lab specification). */
        default_action = forward(2);
    }

    table port_to_vlan {
        key = {
            standard_metadata.ingress_port : exact;
        }
        actions = {
            add_vlan_hdr;
            drop;
        }
        size = 64;
        /* A port without a VLAN assignment must not leak into the trunk. */
        default_action = drop();
    }

    apply {
        if (standard_metadata.ingress_port == TRUNK_PORT) {
            if (hdr.vlan.isValid()) {
                /* Rule 2: pick the access port from the VID ... */
                vlan_table.apply();
                /* ... then strip the tag.  The inner EtherType must be
                 * copied back first, otherwise the frame would still say
                 * 0x8100 while no tag follows. */
                hdr.ethernet.etherType = hdr.vlan.etherType;
                hdr.vlan.setInvalid();
            } else {
                /* Rule 1: untagged frames are not allowed on the trunk. */
                drop();
            }
        } else {
            if (hdr.vlan.isValid()) {
                /* Rule 1: tagged frames are not allowed on access ports. */
                drop();
            } else {
                /* Rule 3: tag it with this port's VLAN, send to the trunk. */
                port_to_vlan.apply();
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
    apply { }
}

/*************************************************************************
 *  DEPARSER — emit() skips invalid headers, so the same code produces an
 *  untagged frame (vlan invalid) or a tagged one (vlan valid).
 *************************************************************************/
control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.vlan);
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
