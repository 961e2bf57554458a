//! Feeding a program's standard input while collecting its standard output and
//! error, in short slices so that the caller can check for signals in between.
//! Runs without the GIL.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::fd;

/// At most this much is written per ready event: a pipe that polls writable takes
/// `PIPE_BUF` bytes without blocking.
const PIPE_BUF: usize = 4096;
const CHUNK: usize = 64 * 1024;

/// The pipes of one program and what went through them.
#[derive(Debug, Default)]
pub(crate) struct Pump {
    stdin: Option<File>,
    input: Vec<u8>,
    written: usize,
    stdout: Option<File>,
    stderr: Option<File>,
    /// Whether standard output / error were piped (and so have an output).
    pub has_out: bool,
    pub has_err: bool,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
}

impl Pump {
    /// Writes `input` to `stdin` (closing it after; at once when `input` is empty)
    /// and reads `stdout` and `stderr` to their ends.
    pub fn new(stdin: Option<File>, input: Vec<u8>, stdout: Option<File>, stderr: Option<File>) -> Pump {
        let stdin = stdin.filter(|_| !input.is_empty());
        Pump {
            stdin,
            input,
            written: 0,
            has_out: stdout.is_some(),
            has_err: stderr.is_some(),
            stdout,
            stderr,
            out: Vec::new(),
            err: Vec::new(),
        }
    }

    /// Whether every pipe is closed.
    pub fn done(&self) -> bool {
        self.stdin.is_none() && self.stdout.is_none() && self.stderr.is_none()
    }

    /// Moves data until every pipe is closed or `slice` has passed.
    ///
    /// # Errors
    /// A failed `poll` or `read`; a failed write closes standard input instead (the
    /// program stopped reading, as `subprocess` does).
    pub fn run_for(&mut self, slice: Duration) -> io::Result<()> {
        let deadline = Instant::now() + slice;
        let mut buf = vec![0u8; CHUNK];
        while !self.done() {
            let left = deadline.saturating_duration_since(Instant::now());
            let ready = {
                let mut want = Vec::with_capacity(3);
                if let Some(f) = &self.stdin {
                    want.push((f.as_fd(), false, true));
                }
                if let Some(f) = &self.stdout {
                    want.push((f.as_fd(), true, false));
                }
                if let Some(f) = &self.stderr {
                    want.push((f.as_fd(), true, false));
                }
                fd::poll(&want, left)?
            };
            let mut ready = ready.into_iter();
            if self.stdin.is_some() && ready.next().is_some_and(|r| r.write) {
                self.write_some();
            }
            if self.stdout.is_some() && ready.next().is_some_and(|r| r.read) {
                read_some(&mut self.stdout, &mut self.out, &mut buf)?;
            }
            if self.stderr.is_some() && ready.next().is_some_and(|r| r.read) {
                read_some(&mut self.stderr, &mut self.err, &mut buf)?;
            }
            if left.is_zero() {
                break;
            }
        }
        Ok(())
    }

    fn write_some(&mut self) {
        let Some(f) = self.stdin.as_mut() else { return };
        let end = (self.written + PIPE_BUF).min(self.input.len());
        match f.write(&self.input[self.written..end]) {
            Ok(n) => self.written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // EPIPE and the like: the program does not read any more.
            Err(_) => self.written = self.input.len(),
        }
        if self.written >= self.input.len() {
            self.stdin = None;
        }
    }
}

/// Reads what is there from `pipe` into `out`; closes `pipe` at its end.
fn read_some(pipe: &mut Option<File>, out: &mut Vec<u8>, buf: &mut [u8]) -> io::Result<()> {
    let Some(f) = pipe.as_mut() else { return Ok(()) };
    match f.read(buf) {
        Ok(0) => *pipe = None,
        Ok(n) => out.extend_from_slice(&buf[..n]),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => return Err(e),
    }
    Ok(())
}
