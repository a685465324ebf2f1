//! The output file of a feed run: IntelMQ JSON lines or CSV rows appended as batches make
//! them, with the length the run's checkpoint records kept beside it.
//!
//! Disk space is reserved ahead of the writes (`fallocate` keeping the file's size), so the
//! file system finds the blocks already allocated instead of reserving each block as it is
//! written: that halved the kernel's time for writing 67 MiB in 1 MiB pieces on ext4
//! (12.1 → 6.9 ms, `bench/README.md`). What is reserved beyond the last line is given back
//! when the run ends.
//!
//! A run whose batches stream their lines (one piece, no rules) has whole blocks written with
//! `O_DIRECT` from a thread of their own where the file system allows
//! ([`super::direct_output`]): the lines then come while the engine works, and the device's
//! writing overlaps it. A run that holds each batch's lines to the end gets them all at once,
//! already holds four times its input in them, and writes through the page cache, as
//! the 2 MiB of staging would push its peak memory to the benchmark's limit.
//! [`RunOutput::settle`] waits until every line handed in is in the file, which a commit
//! must do first.
//!
//! A run holds an exclusive lock on the file (`flock`) from opening it to the end: another
//! run writing to the same file waits for it. The length a checkpoint records, the cut back
//! on resuming and the space given back all count on one writer at a time.

use super::direct_output::DirectOutput;
use rampart_pipeline::event::FieldId;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// How far past the written end space is reserved at a time.
const RESERVE_AHEAD: u64 = 8 << 20;

pub(crate) struct RunOutput {
    file: File,
    /// Bytes of whole lines in the file: what a commit records.
    len: u64,
    /// Where the reserved space ends; `None` once the file system said it cannot reserve.
    reserved: Option<u64>,
    /// CSV output: these columns of each event.
    csv_columns: Option<Vec<FieldId>>,
    /// Whole blocks written directly; `None`: every byte through the page cache.
    direct: Option<DirectOutput>,
    /// A regular file, written at explicit offsets; otherwise (a pipe, a terminal) written
    /// in order.
    regular: bool,
}

impl RunOutput {
    /// Opens (or creates) `path` for appending, cut back to `keep` bytes when a run that
    /// crashed after writing but before committing left more (`None`: keep what is there).
    /// A new CSV file starts with its header line. Waits while another run writes the file.
    /// `direct`: write whole blocks directly where the file system allows.
    pub fn open(path: &Path, keep: Option<u64>, csv_columns: Option<Vec<FieldId>>, direct: bool) -> io::Result<RunOutput> {
        // Written at explicit offsets (read too, for the part block direct writing starts at).
        let file = std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
        lock(&file)?;
        let metadata = file.metadata()?;
        let (len, regular) = (metadata.len(), metadata.is_file());
        let mut keep = keep.unwrap_or(len);
        // Only then is the file cut: ext4 flushes a file cut to nothing when it is closed.
        if len != keep {
            file.set_len(keep)?;
        }
        if let (Some(columns), 0) = (&csv_columns, keep) {
            let header = format!("{}\n", columns.iter().map(|c| c.name()).collect::<Vec<_>>().join(","));
            file.write_all_at(header.as_bytes(), 0)?;
            keep = header.len() as u64;
        }
        let direct = if direct && regular { DirectOutput::open(path, &file, keep)? } else { None };
        Ok(RunOutput { file, len: keep, reserved: Some(keep), csv_columns, direct, regular })
    }

    /// Bytes of whole lines handed in (all in the file after [`RunOutput::settle`]).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Waits until every line handed in is in the file; what a commit records must be.
    pub fn settle(&mut self) -> io::Result<u64> {
        if let Some(direct) = &mut self.direct {
            direct.settle(&self.file)?;
        }
        Ok(self.len)
    }

    /// Appends whole IntelMQ JSON lines, as CSV rows when the output is CSV.
    pub fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let csv;
        let bytes = match &self.csv_columns {
            Some(columns) => {
                let mut text = Vec::with_capacity(lines.len() / 3);
                rampart_pipeline::engine::events_to_csv(lines, columns, &mut text);
                csv = text;
                &csv[..]
            }
            None => lines,
        };
        self.reserve_for(bytes.len() as u64);
        match &mut self.direct {
            Some(direct) => direct.append(bytes)?,
            None if self.regular => self.file.write_all_at(bytes, self.len)?,
            None => (&self.file).write_all(bytes)?,
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Cuts the file back to `len` bytes, where a batch that runs again began.
    pub fn cut_to(&mut self, len: u64) -> io::Result<()> {
        if let Some(direct) = &mut self.direct {
            direct.settle(&self.file)?;
        }
        self.file.set_len(len)?;
        self.len = len;
        if let Some(direct) = &mut self.direct {
            direct.restage(&self.file, len)?;
        }
        // Cutting gave back what was reserved past the end.
        self.reserved = self.reserved.map(|_| len);
        Ok(())
    }

    /// Gives back the space reserved past the last line. Runs on drop too; call it to learn
    /// of a failure.
    pub fn finish(mut self) -> io::Result<()> {
        self.give_back()
    }

    fn give_back(&mut self) -> io::Result<()> {
        self.settle()?;
        match self.reserved {
            Some(end) if end > self.len => {
                // Setting the length it has frees the blocks beyond it.
                self.file.set_len(self.len)?;
                self.reserved = Some(self.len);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Reserves space for `more` bytes after the end, and some ahead, when not done yet.
    fn reserve_for(&mut self, more: u64) {
        let Some(end) = self.reserved else { return };
        let need = self.len + more;
        if need <= end {
            return;
        }
        let until = need + RESERVE_AHEAD;
        match reserve(&self.file, self.len, until - self.len) {
            Ok(()) => self.reserved = Some(until),
            // Not every file system reserves (or has room for so much ahead): the writes
            // then find their blocks one by one, as without reserving.
            Err(_) => self.reserved = None,
        }
    }
}

impl Drop for RunOutput {
    fn drop(&mut self) {
        let _ = self.give_back();
    }
}

/// Waits for the exclusive lock of the file; it goes with the file when it is closed.
#[cfg(unix)]
fn lock(file: &File) -> io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(io::Error::from)
}

#[cfg(not(unix))]
fn lock(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, offset, len).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn reserve(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Every test runs through the page cache and with direct writes.
    const BOTH: [bool; 2] = [false, true];

    fn lines(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| format!("{{\"__type\":\"Event\",\"source.ip\":\"192.0.2.{}\",\"row\":{i}}}\n", i % 250).into_bytes()).collect()
    }

    /// Bytes the file system holds for the file.
    fn allocated(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn lines_appended_are_the_file_and_the_room_reserved_past_them_is_given_back() {
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.jsonl");
            let piece = lines(20_000);
            let mut out = RunOutput::open(&path, None, None, direct).unwrap();
            for _ in 0..3 {
                out.write_lines(&piece).unwrap();
            }
            let len = out.len();
            assert_eq!(len, 3 * piece.len() as u64);
            if out.reserved.is_some() {
                // The first write reserved its length and 8 MiB; the rest of the lines fit in.
                assert!(allocated(&path) >= (piece.len() as u64 + RESERVE_AHEAD).next_multiple_of(4096), "{} reserved", allocated(&path));
            }
            out.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), [&piece[..], &piece, &piece].concat());
            // At most the last block is partly empty (and a block for metadata on some systems).
            assert!(allocated(&path) <= len.next_multiple_of(4096) + 4096, "{} for {len} bytes", allocated(&path));
        }
    }

    #[test]
    fn dropped_without_finishing_it_gives_the_room_back_too() {
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.jsonl");
            let piece = lines(1_000);
            let mut out = RunOutput::open(&path, None, None, direct).unwrap();
            out.write_lines(&piece).unwrap();
            drop(out);
            assert_eq!(std::fs::read(&path).unwrap(), piece);
            assert!(allocated(&path) <= (piece.len() as u64).next_multiple_of(4096) + 4096);
        }
    }

    #[test]
    fn a_batch_cut_back_and_a_resumed_run_keep_only_committed_lines() {
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.jsonl");
            let (first, second) = (lines(100), lines(200));
            let mut out = RunOutput::open(&path, None, None, direct).unwrap();
            out.write_lines(&first).unwrap();
            let committed = out.len();
            out.write_lines(&second).unwrap();
            out.cut_to(committed).unwrap();
            assert_eq!(out.len(), committed);
            out.write_lines(&second).unwrap();
            // A crash now: the checkpoint knows only the first lines.
            drop(out);
            let mut again = RunOutput::open(&path, Some(committed), None, direct).unwrap();
            assert_eq!(again.len(), committed);
            again.write_lines(&second).unwrap();
            again.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), [&first[..], &second].concat());
        }
    }

    #[test]
    fn a_second_run_on_the_same_file_waits_for_the_first_to_end() {
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.jsonl");
            let (first, second) = (lines(3_000), lines(10));
            let first_done = std::sync::atomic::AtomicBool::new(false);
            let mut out = RunOutput::open(&path, None, None, direct).unwrap();
            out.write_lines(&first).unwrap();
            std::thread::scope(|scope| {
                let waiter = scope.spawn(|| {
                    let mut other = RunOutput::open(&path, None, None, direct).unwrap();
                    // Opened only once the first run let go, and after all its lines.
                    assert!(first_done.load(std::sync::atomic::Ordering::SeqCst), "opened while the first run was writing");
                    assert_eq!(other.len(), first.len() as u64);
                    other.write_lines(&second).unwrap();
                    other.finish().unwrap();
                });
                std::thread::sleep(std::time::Duration::from_millis(200));
                first_done.store(true, std::sync::atomic::Ordering::SeqCst);
                out.finish().unwrap();
                waiter.join().unwrap();
            });
            assert_eq!(std::fs::read(&path).unwrap(), [&first[..], &second].concat());
        }
    }

    #[test]
    fn csv_output_starts_with_its_header_once() {
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.csv");
            let fields = || ["source.ip", "row"].map(|n| FieldId::intern(n).unwrap()).to_vec();
            let mut out = RunOutput::open(&path, None, Some(fields()), direct).unwrap();
            out.write_lines(&lines(2)).unwrap();
            out.finish().unwrap();
            let mut out = RunOutput::open(&path, None, Some(fields()), direct).unwrap();
            out.write_lines(&lines(1)).unwrap();
            assert_eq!(out.settle().unwrap(), std::fs::metadata(&path).unwrap().len());
            out.finish().unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "source.ip,row\n192.0.2.0,0\n192.0.2.1,1\n192.0.2.0,0\n");
        }
    }

    /// Whether `path` is on ext4, which takes `O_DIRECT` in 4 KiB blocks: there the direct
    /// writer must be the one used.
    fn on_ext4(path: &Path) -> bool {
        rustix::fs::statfs(path).is_ok_and(|stat| stat.f_type as u64 == 0xEF53)
    }

    #[test]
    fn pieces_of_any_size_settled_cut_and_resumed_anywhere_leave_exactly_the_lines() {
        // Sizes that cross blocks and the writer's megabyte in every way.
        let sizes = [1usize, 4095, 4096, 4097, 700_000, 1 << 20, (1 << 20) + 1, 3 * 4096 - 7, 2_500_000, 13];
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.jsonl");
            let mut out = RunOutput::open(&path, None, None, direct).unwrap();
            if direct && on_ext4(dir.path()) {
                assert!(out.direct.is_some(), "ext4 takes direct writes");
            }
            let mut want: Vec<u8> = Vec::new();
            let mut seed = 7u8;
            let mut piece = |n: usize| -> Vec<u8> {
                (0..n)
                    .map(|i| {
                        seed = seed.wrapping_mul(31).wrapping_add(i as u8);
                        if i + 1 == n {
                            b'\n'
                        } else {
                            b'a' + seed % 26
                        }
                    })
                    .collect()
            };
            for (round, &n) in sizes.iter().enumerate() {
                let bytes = piece(n);
                out.write_lines(&bytes).unwrap();
                want.extend_from_slice(&bytes);
                if round % 3 == 2 {
                    assert_eq!(out.settle().unwrap(), want.len() as u64);
                    assert_eq!(std::fs::read(&path).unwrap(), want, "settled after piece {round} (direct: {direct})");
                }
            }
            // Cut back into a block written directly, then go on.
            let cut = want.len() - 1_234_567;
            out.cut_to(cut as u64).unwrap();
            want.truncate(cut);
            let more = piece(1_500_001);
            out.write_lines(&more).unwrap();
            want.extend_from_slice(&more);
            out.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), want, "after the cut (direct: {direct})");
            // A later run resumes at a length inside a block and appends.
            let keep = want.len() - 5_000;
            let mut again = RunOutput::open(&path, Some(keep as u64), None, direct).unwrap();
            want.truncate(keep);
            let last = piece(2_000_003);
            again.write_lines(&last).unwrap();
            want.extend_from_slice(&last);
            drop(again);
            assert_eq!(std::fs::read(&path).unwrap(), want, "after resuming (direct: {direct})");
        }
    }

    #[test]
    fn a_pipe_is_written_in_order() {
        for direct in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.fifo");
            rustix::fs::mknodat(rustix::fs::CWD, &path, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0).unwrap();
            let reader = std::thread::spawn({
                let path = path.clone();
                move || std::fs::read(path).unwrap()
            });
            let (first, second) = (lines(3_000), lines(5));
            let mut out = RunOutput::open(&path, None, None, direct).unwrap();
            assert!(out.direct.is_none());
            out.write_lines(&first).unwrap();
            out.write_lines(&second).unwrap();
            assert_eq!(out.settle().unwrap(), (first.len() + second.len()) as u64);
            drop(out);
            assert_eq!(reader.join().unwrap(), [&first[..], &second].concat());
        }
    }
}
