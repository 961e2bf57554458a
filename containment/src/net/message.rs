//! rtnetlink messages, built with `netlink-packet-route` and serialized to bytes,
//! and the parsing of the kernel's replies. Pure code: no socket here.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::resource::Ipv4Net;

/// The interface index the sandbox's `eth0` is created with: in a new network
/// namespace `lo` is 1, so 2 is free, and asking for it saves a lookup.
pub(crate) const PEER_INDEX: u32 = 2;

/// Serializes one request with sequence number `seq`.
pub(crate) fn request(msg: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = seq;
    let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    m.finalize();
    let mut buf = vec![0; m.buffer_len()];
    m.serialize(&mut buf);
    buf
}

/// `ip link set lo up` (`lo` is interface 1 in every network namespace).
pub(crate) fn lo_up() -> Vec<u8> {
    link_up(1, 1)
}

/// Brings interface `index` up.
pub(crate) fn link_up(index: u32, seq: u32) -> Vec<u8> {
    let mut link = LinkMessage::default();
    link.header.index = index;
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    request(RouteNetlinkMessage::SetLink(link), NLM_F_ACK, seq)
}

/// `RTM_GETLINK` of the interface named `name`.
pub(crate) fn get_link(name: &str, seq: u32) -> Vec<u8> {
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName(name.to_string()));
    request(RouteNetlinkMessage::GetLink(link), 0, seq)
}

/// `RTM_GETADDR` dump of the IPv4 addresses of interface `index` (the kernel
/// dumps every interface's; the caller filters).
pub(crate) fn get_addrs(seq: u32) -> Vec<u8> {
    let mut addr = AddressMessage::default();
    addr.header.family = AddressFamily::Inet;
    request(RouteNetlinkMessage::GetAddress(addr), NLM_F_DUMP, seq)
}

/// A bridge named `name`, up.
pub(crate) fn new_bridge(name: &str, seq: u32) -> Vec<u8> {
    let mut link = LinkMessage::default();
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    link.attributes.push(LinkAttribute::IfName(name.to_string()));
    link.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]));
    request(RouteNetlinkMessage::NewLink(link), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq)
}

/// What a veth pair is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Veth<'a> {
    /// Name of the host end.
    pub host: &'a str,
    /// Index of the bridge the host end joins.
    pub bridge: u32,
    /// The namespace where the peer is created.
    pub peer_ns: PeerNs,
    pub mtu: u32,
    pub mac: Option<[u8; 6]>,
}

/// Where a veth's peer is created: the network namespace of a process, or one
/// held by a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerNs {
    Pid(u32),
    Fd(std::os::fd::RawFd),
}

/// A veth pair: the host end attached to the bridge and up; the peer created
/// directly in the sandbox's namespace as `eth0` (index [`PEER_INDEX`]).
pub(crate) fn new_veth(v: &Veth<'_>, seq: u32) -> Vec<u8> {
    // The peer cannot be created up: the kernel opens it before pairing it
    // (`veth_open` gives ENOTCONN); [`link_up`] brings it up afterwards.
    let mut peer = LinkMessage::default();
    peer.header.index = PEER_INDEX;
    peer.attributes.push(LinkAttribute::IfName("eth0".to_string()));
    peer.attributes.push(match v.peer_ns {
        PeerNs::Pid(pid) => LinkAttribute::NetNsPid(pid),
        PeerNs::Fd(fd) => LinkAttribute::NetNsFd(fd),
    });
    peer.attributes.push(LinkAttribute::Mtu(v.mtu));
    if let Some(mac) = v.mac {
        peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    let mut link = LinkMessage::default();
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    link.attributes.push(LinkAttribute::IfName(v.host.to_string()));
    link.attributes.push(LinkAttribute::Controller(v.bridge));
    link.attributes.push(LinkAttribute::Mtu(v.mtu));
    link.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    request(RouteNetlinkMessage::NewLink(link), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq)
}

/// An address message naming `addr` (its local address and prefix) on `index`.
fn address_of(index: u32, addr: Ipv4Net) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.prefix_len = addr.prefix();
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(IpAddr::V4(addr.addr())));
    m
}

/// Adds `addr` to interface `index`, with its broadcast address.
pub(crate) fn new_addr(index: u32, addr: Ipv4Net, seq: u32) -> Vec<u8> {
    let mut m = address_of(index, addr);
    m.attributes.push(AddressAttribute::Address(IpAddr::V4(addr.addr())));
    if addr.prefix() <= 30 {
        m.attributes.push(AddressAttribute::Broadcast(addr.broadcast()));
    }
    request(RouteNetlinkMessage::NewAddress(m), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq)
}

/// Removes `addr` from interface `index` (and with it the routes through it).
pub(crate) fn del_addr(index: u32, addr: Ipv4Net, seq: u32) -> Vec<u8> {
    request(RouteNetlinkMessage::DelAddress(address_of(index, addr)), NLM_F_ACK, seq)
}

/// The default route through `gateway` on interface `index`, replacing one that
/// is there.
pub(crate) fn default_route(index: u32, gateway: Ipv4Addr, seq: u32) -> Vec<u8> {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Boot;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes.push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    m.attributes.push(RouteAttribute::Oif(index));
    request(RouteNetlinkMessage::NewRoute(m), NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq)
}

/// One parsed reply message.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An acknowledgement (`code` 0) or an error (`-errno`).
    Ack { seq: u32, code: i32 },
    /// The end of a dump.
    Done { seq: u32 },
    /// A link.
    Link(LinkMessage),
    /// An address.
    Address(AddressMessage),
    /// Something else.
    Other,
}

/// Splits a buffer received from the kernel into messages.
pub(crate) fn parse_replies(mut buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let reply = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
            Ok(m) => match m.payload {
                NetlinkPayload::Error(e) => Reply::Ack { seq, code: e.code.map_or(0, |c| c.get()) },
                NetlinkPayload::Done(_) => Reply::Done { seq },
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => Reply::Link(l),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => Reply::Address(a),
                _ => Reply::Other,
            },
            Err(_) => Reply::Other,
        };
        out.push(reply);
        // Messages are 4-byte aligned.
        let step = (len + 3) & !3;
        buf = buf.get(step..).unwrap_or(&[]);
    }
    out
}

/// The IPv4 addresses (with prefix) of a link, from `RTM_NEWADDR` replies.
pub(crate) fn ipv4_addrs_of(replies: &[Reply], index: u32) -> Vec<Ipv4Net> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::Address(a) if a.header.index == index => a.attributes.iter().find_map(|at| match at {
                AddressAttribute::Local(IpAddr::V4(ip)) | AddressAttribute::Address(IpAddr::V4(ip)) => {
                    Ipv4Net::new(*ip, a.header.prefix_len).ok()
                }
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

/// What the kernel says about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkFacts {
    pub index: u32,
    pub mtu: Option<u32>,
    pub kind: Option<String>,
    /// The bridge it is a port of, if any.
    pub controller: Option<u32>,
}

pub(crate) fn link_facts(l: &LinkMessage) -> LinkFacts {
    let mut f = LinkFacts { index: l.header.index, mtu: None, kind: None, controller: None };
    for a in &l.attributes {
        match a {
            LinkAttribute::Mtu(m) => f.mtu = Some(*m),
            LinkAttribute::Controller(c) => f.controller = Some(*c),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        f.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_ne_bytes([b[i], b[i + 1]])
    }
    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    #[test]
    fn lo_up_is_a_setlink_of_index_1_with_iff_up() {
        let m = lo_up();
        assert_eq!(m.len(), 32);
        assert_eq!(u32_at(&m, 0), 32);
        assert_eq!(u16_at(&m, 4), libc::RTM_SETLINK);
        assert_eq!(u16_at(&m, 6), (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16);
        assert_eq!(u32_at(&m, 20), 1, "ifi_index");
        assert_eq!(u32_at(&m, 24), libc::IFF_UP as u32, "ifi_flags");
        assert_eq!(u32_at(&m, 28), libc::IFF_UP as u32, "ifi_change");
    }

    #[test]
    fn veth_message_round_trips_with_the_peer_inside() {
        let v =
            Veth { host: "ctm1x2", bridge: 7, peer_ns: PeerNs::Pid(4242), mtu: 1400, mac: Some([2, 0, 0, 0, 0, 1]) };
        let bytes = new_veth(&v, 9);
        let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
        assert_eq!(parsed.header.sequence_number, 9);
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = parsed.payload else { panic!() };
        assert!(link.attributes.contains(&LinkAttribute::IfName("ctm1x2".into())));
        assert!(link.attributes.contains(&LinkAttribute::Controller(7)));
        let peer = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(i) => i.iter().find_map(|x| match x {
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))) => Some(p.clone()),
                _ => None,
            }),
            _ => None,
        });
        let peer = peer.expect("a peer");
        assert_eq!(peer.header.index, PEER_INDEX);
        assert!(peer.attributes.contains(&LinkAttribute::IfName("eth0".into())));
        assert!(peer.attributes.contains(&LinkAttribute::NetNsPid(4242)));
        assert!(peer.attributes.contains(&LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1])));
        let v = Veth { peer_ns: PeerNs::Fd(11), mac: None, ..v };
        let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&new_veth(&v, 10)).unwrap();
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = parsed.payload else { panic!() };
        let text = format!("{link:?}");
        assert!(text.contains("NetNsFd(11)") && !text.contains("NetNsPid"), "{text}");
    }

    #[test]
    fn address_and_route_messages() {
        let a: Ipv4Net = "10.77.0.17/24".parse().unwrap();
        let p = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&new_addr(2, a, 3)).unwrap();
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) = p.payload else { panic!() };
        assert_eq!((m.header.index, m.header.prefix_len), (2, 24));
        assert!(m.attributes.contains(&AddressAttribute::Broadcast(Ipv4Addr::new(10, 77, 0, 255))));
        let p = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&default_route(2, Ipv4Addr::new(10, 77, 0, 1), 4))
            .unwrap();
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) = p.payload else { panic!() };
        assert_eq!(r.header.destination_prefix_length, 0);
        assert!(r.attributes.contains(&RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(10, 77, 0, 1)))));
        // A kept namespace's route may still be there: it is replaced, not refused.
        assert_eq!(p.header.flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
        let p = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&del_addr(2, a, 5)).unwrap();
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) = p.payload else { panic!() };
        assert_eq!((m.header.index, m.header.prefix_len), (2, 24));
        assert!(m.attributes.contains(&AddressAttribute::Local(IpAddr::V4(a.addr()))));
    }

    #[test]
    fn replies_are_split_and_errors_read() {
        // Two NLMSG_ERROR messages: an ack (0) for seq 5 and -EEXIST for seq 6.
        let mut buf = Vec::new();
        for (seq, code) in [(5u32, 0i32), (6, -libc::EEXIST)] {
            let mut m = vec![0u8; 36];
            m[0..4].copy_from_slice(&36u32.to_ne_bytes());
            m[4..6].copy_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
            m[8..12].copy_from_slice(&seq.to_ne_bytes());
            m[16..20].copy_from_slice(&code.to_ne_bytes());
            m[20..24].copy_from_slice(&36u32.to_ne_bytes()); // the echoed request header
            buf.extend_from_slice(&m);
        }
        let r = parse_replies(&buf);
        assert!(matches!(r[0], Reply::Ack { seq: 5, code: 0 }), "{r:?}");
        assert!(matches!(r[1], Reply::Ack { seq: 6, code } if code == -libc::EEXIST), "{r:?}");
        // Garbage never panics.
        assert!(parse_replies(&[0xff; 7]).is_empty());
        let _ = parse_replies(&[0xff; 64]);
    }
}
