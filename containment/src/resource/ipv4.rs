//! IPv4 interface addresses with a prefix length, like `10.77.0.17/24`.
//!
//! [`Ipv4Net`] is the address given to a sandbox's network interface together
//! with the length of its subnet's prefix. Only IPv4 is supported.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::{Error, Result, ValueKind};

/// What an address accepts, for error messages.
const EXPECTED: &str = "an IPv4 address with a prefix length from 0 to 32, like 10.77.0.17/24";

/// What [`Ipv4Net::check_host`] accepts, for error messages.
const EXPECTED_HOST: &str = "a host address of its subnet, neither its network nor its broadcast \
                             address, like 10.77.0.17/24";

/// An IPv4 interface address with the prefix length of its subnet: `10.77.0.17/24`.
///
/// The address keeps its host bits (`10.77.0.17/24` is not `10.77.0.0/24`);
/// [`Ipv4Net::network`] gives the subnet.
///
/// # Text form
///
/// [`FromStr`] accepts `ADDRESS/PREFIX`. The address is parsed by
/// [`Ipv4Addr::from_str`], so it is exactly four decimal numbers from 0 to 255
/// without leading zeros (`10.0.0` and `010.0.0.1` are rejected). The prefix is
/// required and is a decimal number from 0 to 32 without sign or leading zero. No
/// whitespace. IPv6 addresses give [`Error::Unsupported`].
///
/// [`Display`](fmt::Display) prints `10.77.0.17/24`, which parses back to an equal
/// value.
///
/// ```
/// use containment::Ipv4Net;
/// use std::net::Ipv4Addr;
/// let net: Ipv4Net = "10.77.0.17/24".parse().unwrap();
/// assert_eq!(net.network(), Ipv4Addr::new(10, 77, 0, 0));
/// assert_eq!(net.broadcast(), Ipv4Addr::new(10, 77, 0, 255));
/// assert!(net.check_host().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// The address `addr` in a subnet of prefix length `prefix`; an error when
    /// `prefix` is above 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Ipv4Net> {
        if prefix > 32 {
            return Err(Error::invalid(
                ValueKind::Address,
                format!("{addr}/{prefix}"),
                format!("prefix {prefix} is above 32"),
                EXPECTED,
            ));
        }
        Ok(Ipv4Net { addr, prefix })
    }

    /// The address, with its host bits.
    pub fn addr(self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length, 0 to 32.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// The netmask, such as `255.255.255.0` for `/24`.
    pub fn netmask(self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    /// The network address: the address with its host bits cleared.
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The broadcast address: the address with its host bits set.
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// Whether `ip` is in this subnet.
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// Checks that the address can be given to a host: for prefixes up to /30 it
    /// must be neither the network nor the broadcast address of its subnet. A /31
    /// (RFC 3021) or /32 has no such addresses, so any address passes.
    pub fn check_host(self) -> Result<()> {
        if self.prefix > 30 {
            return Ok(());
        }
        let which = if self.addr == self.network() {
            "network"
        } else if self.addr == self.broadcast() {
            "broadcast"
        } else {
            return Ok(());
        };
        Err(Error::invalid(
            ValueKind::Address,
            self.to_string(),
            format!(
                "{} is the {which} address of the subnet {}/{}, not a host address; the hosts are {} to {}",
                self.addr,
                self.network(),
                self.prefix,
                self.first_host(),
                self.last_host()
            ),
            EXPECTED_HOST,
        ))
    }

    /// The first host address of the subnet: the network address plus one for
    /// prefixes up to /30; the network address itself for a /31 (both of its
    /// addresses are hosts); the address itself for a /32.
    pub fn first_host(self) -> Ipv4Addr {
        match self.prefix {
            32 => self.addr,
            31 => self.network(),
            // The host part has at least two bits and is zero: setting the lowest
            // bit adds one.
            _ => Ipv4Addr::from(u32::from(self.network()) | 1),
        }
    }

    /// The last host address of the subnet: the broadcast address minus one for
    /// prefixes up to /30; the broadcast address itself for a /31; the address
    /// itself for a /32.
    pub fn last_host(self) -> Ipv4Addr {
        match self.prefix {
            32 => self.addr,
            31 => self.broadcast(),
            _ => Ipv4Addr::from(u32::from(self.broadcast()) & !1),
        }
    }

    fn mask(self) -> u32 {
        // A shift by 32 (prefix 0) is `None`: the mask is then empty.
        u32::MAX.checked_shl(32 - u32::from(self.prefix.min(32))).unwrap_or(0)
    }
}

/// Why `a` is not an IPv4 address (`Ipv4Addr::from_str` rejected it).
fn address_reason(a: &str) -> String {
    let parts: Vec<&str> = a.split('.').collect();
    if parts.len() != 4 {
        return format!("{a:?} has {} parts; an IPv4 address is four numbers separated by dots", parts.len());
    }
    for part in parts {
        if part.is_empty() {
            return format!("{a:?} has an empty number");
        }
        if let Some(c) = part.chars().find(|c| !c.is_ascii_digit()) {
            return if c.is_numeric() {
                format!("{c:?} is not an ASCII digit; only 0-9 are accepted")
            } else {
                format!("{part:?} in {a:?} is not a number")
            };
        }
        if part.len() > 1 && part.starts_with('0') {
            return format!("{part:?} in {a:?} has a leading zero");
        }
        if part.parse::<u8>().is_err() {
            return format!("{part} in {a:?} is above 255");
        }
    }
    format!("{a:?} is not an IPv4 address")
}

/// The prefix length in `p`, or why it is not one.
fn parse_prefix(p: &str) -> std::result::Result<u8, String> {
    if p.is_empty() {
        return Err("the prefix length after '/' is missing".into());
    }
    if let Some(c) = p.chars().find(|c| !c.is_ascii_digit()) {
        return Err(if c.is_numeric() {
            format!("{c:?} is not an ASCII digit; only 0-9 are accepted")
        } else {
            format!("prefix {p:?} is not a number from 0 to 32")
        });
    }
    if p.len() > 1 && p.starts_with('0') {
        return Err(format!("prefix {p:?} has a leading zero"));
    }
    match p.parse::<u8>() {
        Ok(n) if n <= 32 => Ok(n),
        _ => Err(format!("prefix {p} is above 32")),
    }
}

fn parse(s: &str) -> Result<Ipv4Net> {
    let err = |reason: String| Error::invalid(ValueKind::Address, s, reason, EXPECTED);
    if s.is_empty() {
        return Err(err("is empty".into()));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(err("whitespace is not allowed".into()));
    }
    if s.contains(':') {
        let addr_part = s.split('/').next().unwrap_or(s);
        if addr_part.parse::<Ipv6Addr>().is_ok() {
            return Err(Error::Unsupported {
                feature: "IPv6 addresses",
                reason: format!("{s:?} is an IPv6 address; only IPv4 addresses like 10.77.0.17/24 are supported"),
            });
        }
        return Err(err("':' is not allowed (an interface address has no port)".into()));
    }
    let Some((a, p)) = s.split_once('/') else {
        return Err(err(format!("a prefix length like /24 is required, as in {s}/24")));
    };
    if p.contains('/') {
        return Err(err("more than one '/'".into()));
    }
    if a.is_empty() {
        return Err(err("the address before '/' is missing".into()));
    }
    let addr = a.parse::<Ipv4Addr>().map_err(|_| err(address_reason(a)))?;
    let prefix = parse_prefix(p).map_err(err)?;
    Ipv4Net::new(addr, prefix)
}

impl FromStr for Ipv4Net {
    type Err = Error;

    fn from_str(s: &str) -> Result<Ipv4Net> {
        parse(s)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn good_inputs() {
        let table: &[(&str, [u8; 4], u8)] = &[
            ("10.77.0.17/24", [10, 77, 0, 17], 24),
            ("0.0.0.0/0", [0, 0, 0, 0], 0),
            ("192.168.1.1/32", [192, 168, 1, 1], 32),
            ("255.255.255.255/31", [255, 255, 255, 255], 31),
            ("172.16.5.4/12", [172, 16, 5, 4], 12),
        ];
        for (text, octets, prefix) in table {
            let n = net(text);
            assert_eq!(n.addr(), Ipv4Addr::from(*octets), "{text}");
            assert_eq!(n.prefix(), *prefix, "{text}");
            assert_eq!(n.to_string(), *text);
        }
    }

    #[test]
    fn bad_inputs() {
        let table: &[(&str, &str)] = &[
            ("10.0.0.1/33", "prefix 33 is above 32"),
            ("10.0.0.1/255", "prefix 255 is above 32"),
            ("10.0.0.1/99999999999", "above 32"),
            ("10.0.0/24", "has 3 parts"),
            ("10.0.0.1.2/24", "has 5 parts"),
            ("10..0.1/24", "empty number"),
            ("010.0.0.1/24", "leading zero"),
            ("10.0.0.1/", "prefix length after '/' is missing"),
            ("/24", "address before '/' is missing"),
            ("10.0.0.1/-1", "prefix \"-1\" is not a number"),
            ("10.0.0.1/+8", "prefix \"+8\" is not a number"),
            ("10.0.0.1/024", "leading zero"),
            ("10.0.0.1/24/1", "more than one '/'"),
            ("10.0.0.256/24", "256 in \"10.0.0.256\" is above 255"),
            ("10.0.0.x/24", "\"x\" in \"10.0.0.x\" is not a number"),
            ("10.0.0.１/24", "'１' is not an ASCII digit"),
            ("10.0.0.1/２4", "'２' is not an ASCII digit"),
            ("10.0.0.1 /24", "whitespace"),
            ("10.77.0.17", "a prefix length like /24 is required"),
            ("", "empty"),
            ("10.0.0.1:80/24", "':' is not allowed"),
        ];
        for (text, fact) in table {
            let err = text.parse::<Ipv4Net>().expect_err(text);
            match &err {
                Error::InvalidValue { kind, value, reason, expected } => {
                    assert_eq!(*kind, ValueKind::Address, "{text}");
                    assert_eq!(value, text);
                    assert!(reason.contains(fact), "{text}: reason {reason:?} lacks {fact:?}");
                    assert!(expected.contains("10.77.0.17/24"));
                }
                other => panic!("{text}: unexpected error {other:?}"),
            }
            // The message shows the value quoted and escaped (`{:?}`).
            assert!(err.to_string().contains(&format!("{text:?}")), "{text}: {err}");
        }
    }

    #[test]
    fn ipv6_is_unsupported() {
        for text in ["fd00::1/64", "::1", "::ffff:10.0.0.1/96"] {
            let err = text.parse::<Ipv4Net>().expect_err(text);
            match &err {
                Error::Unsupported { feature, reason } => {
                    assert_eq!(*feature, "IPv6 addresses");
                    assert!(reason.contains(text), "{reason}");
                }
                other => panic!("{text}: unexpected error {other:?}"),
            }
        }
    }

    #[test]
    fn new_checks_prefix() {
        let e = Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 1), 33).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidValue { kind: ValueKind::Address, reason, value, .. } if reason.contains("prefix 33 is above 32") && value == "10.0.0.1/33")
        );
        assert_eq!(Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 1), 32).unwrap(), net("10.0.0.1/32"));
    }

    #[test]
    fn subnet_arithmetic() {
        let n = net("10.77.0.17/24");
        assert_eq!(n.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(n.network(), Ipv4Addr::new(10, 77, 0, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(10, 77, 0, 255));
        assert_eq!(n.first_host(), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(n.last_host(), Ipv4Addr::new(10, 77, 0, 254));
        assert!(n.contains(Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!n.contains(Ipv4Addr::new(10, 77, 1, 1)));

        let all = net("1.2.3.4/0");
        assert_eq!(all.netmask(), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(all.network(), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(all.broadcast(), Ipv4Addr::new(255, 255, 255, 255));
        assert!(all.contains(Ipv4Addr::new(200, 1, 1, 1)));
        assert_eq!(all.first_host(), Ipv4Addr::new(0, 0, 0, 1));

        let p2p = net("10.0.0.1/31");
        assert_eq!(p2p.netmask(), Ipv4Addr::new(255, 255, 255, 254));
        assert_eq!(p2p.first_host(), Ipv4Addr::new(10, 0, 0, 0));
        assert_eq!(p2p.last_host(), Ipv4Addr::new(10, 0, 0, 1));

        let one = net("10.0.0.7/32");
        assert_eq!(one.netmask(), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(one.network(), one.addr());
        assert_eq!(one.broadcast(), one.addr());
        assert_eq!(one.first_host(), one.addr());
        assert!(one.contains(one.addr()));
        assert!(!one.contains(Ipv4Addr::new(10, 0, 0, 8)));

        let small = net("10.0.0.5/30");
        assert_eq!(small.first_host(), Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(small.last_host(), Ipv4Addr::new(10, 0, 0, 6));
    }

    #[test]
    fn check_host() {
        for ok in ["10.77.0.17/24", "10.0.0.0/31", "10.0.0.1/31", "10.0.0.0/32", "10.0.0.255/32", "10.0.0.1/30"] {
            net(ok).check_host().unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, fact) in [
            ("10.77.0.0/24", "10.77.0.0 is the network address of the subnet 10.77.0.0/24"),
            ("10.77.0.255/24", "10.77.0.255 is the broadcast address of the subnet 10.77.0.0/24"),
            ("10.0.0.3/30", "broadcast"),
            ("0.0.0.0/0", "network"),
        ] {
            let err = net(bad).check_host().unwrap_err();
            match &err {
                Error::InvalidValue { kind, value, reason, .. } => {
                    assert_eq!(*kind, ValueKind::Address);
                    assert_eq!(value, bad);
                    assert!(reason.contains(fact), "{bad}: {reason}");
                }
                other => panic!("{bad}: unexpected error {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn display_round_trips(addr in any::<u32>(), prefix in 0u8..=32) {
            let n = Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap();
            prop_assert_eq!(n.to_string().parse::<Ipv4Net>().unwrap(), n);
        }

        #[test]
        fn subnet_laws(addr in any::<u32>(), prefix in 0u8..=32) {
            let n = Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap();
            prop_assert!(n.contains(n.addr()));
            prop_assert!(n.contains(n.network()));
            prop_assert!(n.contains(n.broadcast()));
            prop_assert!(n.contains(n.first_host()));
            prop_assert!(n.contains(n.last_host()));
            prop_assert_eq!(u32::from(n.netmask()).count_ones(), u32::from(prefix));
            let first = Ipv4Net::new(n.first_host(), prefix).unwrap();
            prop_assert!(first.check_host().is_ok());
            let last = Ipv4Net::new(n.last_host(), prefix).unwrap();
            prop_assert!(last.check_host().is_ok());
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(s in any::<String>()) {
            let _ = s.parse::<Ipv4Net>();
        }

        #[test]
        fn parsing_address_like_strings_never_panics(s in "[0-9./:a-f -]{0,24}") {
            if let Ok(n) = s.parse::<Ipv4Net>() {
                prop_assert_eq!(n.to_string(), s);
            }
        }
    }
}
