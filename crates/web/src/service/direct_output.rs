//! The whole blocks of an output file, written with `O_DIRECT` from a thread of their own.
//!
//! Written through the page cache, a run's 67 MiB of JSON lines cost the kernel fresh
//! page-cache pages and a copy into them on the run's own core, and on a virtual machine the
//! fresh pages' cost swings widely from one run to the next (`dd` of 67 MiB: 0.01–0.21 s of
//! system time buffered, under 0.01 s with `O_DIRECT`; `bench/README.md`). With `O_DIRECT`
//! the device reads the bytes straight from a staging buffer while the engine goes on making
//! the next lines; a thread waits for each write so that the run does not.
//!
//! `O_DIRECT` writes whole blocks at block-aligned offsets from aligned memory. Lines are
//! gathered in a staging buffer that starts at a block boundary of the file; each full
//! megabyte's whole blocks go to the writer thread, and the part block at the end moves to
//! the next buffer. At [`DirectOutput::settle`] (before a commit, and at the end) the writer
//! is waited for and the part block is written through the page cache, so that the file then
//! holds exactly the bytes handed in; the next whole write of that block replaces it (the
//! kernel drops the cached page for a direct write over it).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

/// The block every direct write is a whole number of, at an offset that is a multiple of it:
/// 4 KiB, a multiple of the block size of the file systems and devices that take `O_DIRECT`.
const BLOCK: usize = 4096;

/// How many bytes are gathered before their whole blocks are handed to the writer. Written
/// in half-megabyte pieces, the run spent more system time (and the two buffers took 1 MiB
/// less).
const CHUNK: usize = 1 << 20;

/// Buffers in use at most: one gathering, one being written.
const BUFFERS: usize = 2;

/// A buffer whose bytes start at a block-aligned address (a plain vector, over-allocated by a
/// block and used from its first aligned byte on).
struct Staging {
    bytes: Vec<u8>,
    start: usize,
    len: usize,
}

impl Staging {
    fn new() -> Staging {
        let bytes = vec![0u8; CHUNK + 2 * BLOCK];
        let start = bytes.as_ptr().align_offset(BLOCK);
        Staging { bytes, start, len: 0 }
    }

    fn capacity(&self) -> usize {
        CHUNK + BLOCK
    }

    fn filled(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }

    /// Appends what fits of `more`; how much that was.
    fn push(&mut self, more: &[u8]) -> usize {
        let n = more.len().min(self.capacity() - self.len);
        let at = self.start + self.len;
        self.bytes[at..at + n].copy_from_slice(&more[..n]);
        self.len += n;
        n
    }
}

/// A write for the writer thread: `len` bytes of `buffer` at `offset` of the file.
struct Job {
    buffer: Staging,
    offset: u64,
    len: usize,
}

pub(crate) struct DirectOutput {
    /// Where the staging buffer's first byte goes in the file: a multiple of [`BLOCK`].
    base: u64,
    staging: Staging,
    /// Buffers not in use, emptied.
    spare: Vec<Staging>,
    /// Jobs handed to the writer and not yet back.
    in_flight: usize,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<(Staging, io::Result<()>)>,
    writer: Option<JoinHandle<()>>,
}

impl DirectOutput {
    /// Writes whole blocks of `path` directly from here on, the file's first `len` bytes
    /// kept (`file` is the same file opened for buffered writing, to read the part block at
    /// the end from). `None` when the file system does not take `O_DIRECT` in blocks of
    /// [`BLOCK`] from memory aligned to it.
    pub(crate) fn open(path: &Path, file: &File, len: u64) -> io::Result<Option<DirectOutput>> {
        if !takes_direct_writes(file) {
            return Ok(None);
        }
        let direct = match open_direct(path) {
            Ok(direct) => direct,
            // Refused at opening (a file system that says yes to the question above and no here).
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Opened again by its path: it must still be the file the run locked and read.
        if !same_file(&direct, file)? {
            return Err(io::Error::other(format!("{} was replaced while it was being opened", path.display())));
        }
        let (jobs, work) = sync_channel::<Job>(BUFFERS);
        let (report, done) = channel();
        let writer = std::thread::Builder::new().name("feed-output".into()).spawn(move || write_jobs(direct, work, report))?;
        let mut out = DirectOutput {
            base: 0,
            staging: Staging::new(),
            spare: Vec::new(),
            in_flight: 0,
            jobs: Some(jobs),
            done,
            writer: Some(writer),
        };
        out.restage(file, len)?;
        Ok(Some(out))
    }

    /// Gathers `bytes`, handing whole blocks to the writer a megabyte at a time.
    pub(crate) fn append(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let taken = self.staging.push(bytes);
            bytes = &bytes[taken..];
            if self.staging.len >= CHUNK {
                self.hand_on()?;
            }
        }
        Ok(())
    }

    /// Waits until every byte handed in is in the file: the whole blocks written directly,
    /// the part block at the end through `file`.
    pub(crate) fn settle(&mut self, file: &File) -> io::Result<()> {
        if self.staging.len >= BLOCK {
            self.hand_on()?;
        }
        while self.in_flight > 0 {
            self.take_back()?;
        }
        if self.staging.len > 0 {
            file.write_all_at(self.staging.filled(), self.base)?;
        }
        Ok(())
    }

    /// Starts again after the file was cut to `len` bytes (nothing may be in flight: settle
    /// first).
    pub(crate) fn restage(&mut self, file: &File, len: u64) -> io::Result<()> {
        debug_assert_eq!(self.in_flight, 0);
        self.base = len - len % BLOCK as u64;
        let part = (len - self.base) as usize;
        let at = self.staging.start;
        file.read_exact_at(&mut self.staging.bytes[at..at + part], self.base)?;
        self.staging.len = part;
        Ok(())
    }

    /// Hands the staging buffer's whole blocks to the writer, the part block moving to the
    /// next buffer.
    fn hand_on(&mut self) -> io::Result<()> {
        let whole = self.staging.len - self.staging.len % BLOCK;
        let mut next = self.fresh_buffer()?;
        next.push(&self.staging.filled()[whole..]);
        let job = Job { buffer: std::mem::replace(&mut self.staging, next), offset: self.base, len: whole };
        self.base += whole as u64;
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(io::Error::other("the output writer thread stopped"));
        }
        self.in_flight += 1;
        Ok(())
    }

    fn fresh_buffer(&mut self) -> io::Result<Staging> {
        // The one gathering, those spare and those being written.
        if self.spare.is_empty() && 1 + self.in_flight < BUFFERS {
            return Ok(Staging::new());
        }
        if self.spare.is_empty() {
            self.take_back()?;
        }
        Ok(self.spare.pop().expect("a spare buffer, or one just come back"))
    }

    /// Waits for one write to end; its error, if it failed.
    fn take_back(&mut self) -> io::Result<()> {
        let (buffer, result) = self.done.recv().map_err(|_| io::Error::other("the output writer thread stopped"))?;
        self.in_flight -= 1;
        self.spare.push(Staging { len: 0, ..buffer });
        result
    }
}

impl Drop for DirectOutput {
    fn drop(&mut self) {
        // Closing the channel ends the writer after the writes it has.
        self.jobs = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn write_jobs(file: File, jobs: Receiver<Job>, report: Sender<(Staging, io::Result<()>)>) {
    for job in jobs {
        let result = file.write_all_at(&job.buffer.filled()[..job.len], job.offset);
        if report.send((job.buffer, result)).is_err() {
            return;
        }
    }
}

fn same_file(a: &File, b: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (a.metadata()?, b.metadata()?);
    Ok((a.dev(), a.ino()) == (b.dev(), b.ino()))
}

/// Whether the file system writes `file` directly in [`BLOCK`]s from memory aligned to a
/// block (`statx`'s `STATX_DIOALIGN`, Linux 6.1 on; older kernels answer nothing and are
/// written through the page cache).
#[cfg(target_os = "linux")]
fn takes_direct_writes(file: &File) -> bool {
    use rustix::fs::{statx, AtFlags, StatxFlags};
    let Ok(stat) = statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::DIOALIGN) else { return false };
    let (memory, offset) = (stat.stx_dio_mem_align as usize, stat.stx_dio_offset_align as usize);
    stat.stx_mask & StatxFlags::DIOALIGN.bits() != 0
        && offset > 0
        && memory > 0
        && BLOCK.is_multiple_of(offset)
        && BLOCK.is_multiple_of(memory)
}

#[cfg(not(target_os = "linux"))]
fn takes_direct_writes(_file: &File) -> bool {
    false
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32).open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> io::Result<File> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}
