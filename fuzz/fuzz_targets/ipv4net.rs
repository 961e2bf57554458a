//! `Ipv4Net::from_str` on any text, and `Ipv4Net::new` on any address and prefix:
//! never panic; an accepted value prints in a form that parses back to it, and its
//! subnet arithmetic holds together.
#![no_main]

use std::net::Ipv4Addr;

use containment::Ipv4Net;
use libfuzzer_sys::fuzz_target;

fn check(net: Ipv4Net, what: &str) {
    assert!(net.prefix() <= 32, "{what:?}");
    let printed = net.to_string();
    assert_eq!(printed.parse::<Ipv4Net>().ok(), Some(net), "{what:?} printed as {printed:?}");
    assert!(net.contains(net.addr()), "{what:?}");
    assert!(net.contains(net.network()) && net.contains(net.broadcast()), "{what:?}");
    assert!(net.contains(net.first_host()) && net.contains(net.last_host()), "{what:?}");
    assert!(net.first_host() <= net.last_host(), "{what:?}");
    assert_eq!(u32::from(net.network()) & !u32::from(net.netmask()), 0, "{what:?}");
    if let Err(e) = net.check_host() {
        drop(e.to_string());
        assert!(net.addr() == net.network() || net.addr() == net.broadcast(), "{what:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match text.parse::<Ipv4Net>() {
            Ok(net) => check(net, text),
            Err(e) => drop(e.to_string()),
        }
    }
    if let Some(&[a, b, c, d, prefix]) = data.get(..5) {
        match Ipv4Net::new(Ipv4Addr::new(a, b, c, d), prefix) {
            Ok(net) => check(net, "new"),
            Err(_) => assert!(prefix > 32),
        }
    }
});
