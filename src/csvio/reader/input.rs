//! The bytes under the CSV parser: the file, counted for progress, and
//! gzip decompressed on the fly.

use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts bytes taken from the underlying file (compressed bytes for `.gz`),
/// so progress can be shown against the file size.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub type BoxRead = Box<dyn Read + Send>;

/// A file opened for reading.
pub(super) struct Opened {
    pub reader: BoxRead,
    /// Bytes taken from the file so far (compressed bytes for gzip).
    pub bytes: Arc<AtomicU64>,
}

/// Opens `path`; gzip (by its magic bytes) is decompressed on the fly.
pub(super) fn open(path: &Path) -> std::io::Result<Opened> {
    let file = std::fs::File::open(path)?;
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: file,
        count: bytes.clone(),
    };
    let mut buffered = std::io::BufReader::with_capacity(256 * 1024, counted);
    let is_gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let reader: BoxRead = if is_gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    Ok(Opened { reader, bytes })
}
