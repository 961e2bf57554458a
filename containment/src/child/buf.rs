//! A path built on the stack, for the few strings the child must put together at
//! run time (`/proc/self/fd/<n>/...`), without allocating.

use std::ffi::CStr;

use nix::errno::Errno;

/// A NUL-terminated byte string of at most `PATH_MAX` bytes, on the stack.
pub(super) struct StackPath {
    buf: [u8; libc::PATH_MAX as usize],
    len: usize,
}

impl StackPath {
    pub fn new() -> StackPath {
        StackPath { buf: [0; libc::PATH_MAX as usize], len: 0 }
    }

    /// Appends bytes; `ENAMETOOLONG` if they do not fit with the final NUL.
    pub fn push(&mut self, bytes: &[u8]) -> Result<&mut StackPath, Errno> {
        let end = self.len.checked_add(bytes.len()).ok_or(Errno::ENAMETOOLONG)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Errno::ENAMETOOLONG)?;
        if end >= libc::PATH_MAX as usize {
            return Err(Errno::ENAMETOOLONG);
        }
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(self)
    }

    /// Appends the decimal digits of `n`.
    pub fn push_u32(&mut self, mut n: u32) -> Result<&mut StackPath, Errno> {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        self.push(digits.get(i..).unwrap_or(&[]))
    }

    /// `/proc/self/fd/<fd>/<rel>`: a path to `rel` below what descriptor `fd`
    /// refers to, through the host's `/proc` (still visible before the pivot).
    pub fn fd_path(fd: i32, rel: &CStr) -> Result<StackPath, Errno> {
        let mut p = StackPath::new();
        p.push(b"/proc/self/fd/")?.push_u32(fd as u32)?;
        let rel = rel.to_bytes();
        if !rel.is_empty() && rel != b"." {
            p.push(b"/")?.push(rel)?;
        }
        Ok(p)
    }

    /// The string so far, NUL-terminated.
    pub fn as_cstr(&mut self) -> &CStr {
        // `push` keeps `len < PATH_MAX`, so the NUL fits; the content has no NUL
        // because every caller appends paths from C strings and digits.
        self.buf[self.len] = 0;
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_proc_fd_paths() {
        assert_eq!(StackPath::fd_path(7, c"proc/.etc").unwrap().as_cstr(), c"/proc/self/fd/7/proc/.etc");
        assert_eq!(StackPath::fd_path(0, c".").unwrap().as_cstr(), c"/proc/self/fd/0");
        assert_eq!(StackPath::fd_path(1234567890, c"").unwrap().as_cstr(), c"/proc/self/fd/1234567890");
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut p = StackPath::new();
        let long = vec![b'a'; libc::PATH_MAX as usize - 1];
        assert!(p.push(&long).is_ok());
        assert_eq!(p.push(b"b").err(), Some(Errno::ENAMETOOLONG));
        let mut q = StackPath::new();
        assert_eq!(q.push(&[b'a'; libc::PATH_MAX as usize]).err(), Some(Errno::ENAMETOOLONG));
    }
}
