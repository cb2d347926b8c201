//! The bytes under the CSV parser: the file, counted for progress, and
//! gzip decompressed on the fly.

use super::super::GzipFault;
use flate2::bufread::MultiGzDecoder;
use std::io::{BufRead, BufReader, ErrorKind, Read};
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
    pub compressed: bool,
}

/// Opens `path`; gzip (by its magic bytes) is decompressed on the fly.
pub(super) fn open(path: &Path) -> std::io::Result<Opened> {
    let file = std::fs::File::open(path)?;
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: file,
        count: bytes.clone(),
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, counted);
    let is_gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let reader: BoxRead = if is_gzip {
        Box::new(GzipInput {
            decoder: MultiGzDecoder::new(buffered),
            bytes: bytes.clone(),
        })
    } else {
        Box::new(buffered)
    };
    Ok(Opened {
        reader,
        bytes,
        compressed: is_gzip,
    })
}

/// A gzip stream's fault and where in the compressed file it was found,
/// carried through the CSV parser inside an [`std::io::Error`].
#[derive(Debug, thiserror::Error)]
#[error("{fault} at byte {offset} of the compressed file")]
pub(super) struct GzipError {
    pub fault: GzipFault,
    pub offset: u64,
}

impl GzipError {
    /// The gzip fault inside `e`, if it is one.
    pub fn inside(e: &std::io::Error) -> Option<&GzipError> {
        e.get_ref()?.downcast_ref::<GzipError>()
    }
}

type FileInput = BufReader<CountingReader<std::fs::File>>;

/// The decompressed text of a `.gz` file; a decoding error says where in
/// the compressed file it was found.
struct GzipInput {
    decoder: MultiGzDecoder<FileInput>,
    bytes: Arc<AtomicU64>,
}

impl Read for GzipInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.decoder.read(buf).map_err(|e| self.locate(e))
    }
}

impl GzipInput {
    /// flate2 reports a damaged stream as `InvalidInput`/`InvalidData` and a
    /// cut-off one as `UnexpectedEof`; any other error is the file's own.
    fn locate(&self, e: std::io::Error) -> std::io::Error {
        let (fault, kind) = match e.kind() {
            ErrorKind::UnexpectedEof => (GzipFault::CutOff, ErrorKind::UnexpectedEof),
            ErrorKind::InvalidInput | ErrorKind::InvalidData => {
                (GzipFault::Corrupt(e.to_string()), ErrorKind::InvalidData)
            }
            _ => return e,
        };
        // Bytes taken from the file minus those still waiting in the buffer.
        let unread = self.decoder.get_ref().buffer().len() as u64;
        let offset = self.bytes.load(Ordering::Relaxed).saturating_sub(unread);
        std::io::Error::new(kind, GzipError { fault, offset })
    }
}

/// The longest record read: a quote left open in a big file would otherwise
/// take the rest of the file into memory as one field.
pub const MAX_RECORD_BYTES: u64 = 4 << 20;

/// A record ran past [`MAX_RECORD_BYTES`], carried through the CSV parser
/// inside an [`std::io::Error`].
#[derive(Debug, thiserror::Error)]
#[error("a record longer than {limit} bytes")]
pub(super) struct RecordTooLong {
    pub limit: u64,
}

impl RecordTooLong {
    pub fn inside(e: &std::io::Error) -> Option<&RecordTooLong> {
        e.get_ref()?.downcast_ref::<RecordTooLong>()
    }
}

/// The stream under the CSV parser, refusing to feed one record more than
/// `limit` bytes. The reader says where each record starts (its byte
/// offset, counted from the same first byte): one store per record, one
/// comparison per buffer refill.
pub(super) struct RecordLimit {
    inner: BoxRead,
    delivered: u64,
    record_start: Arc<AtomicU64>,
    limit: u64,
}

impl RecordLimit {
    pub fn new(inner: BoxRead, limit: u64) -> (RecordLimit, Arc<AtomicU64>) {
        let record_start = Arc::new(AtomicU64::new(0));
        let limited = RecordLimit {
            inner,
            delivered: 0,
            record_start: record_start.clone(),
            limit,
        };
        (limited, record_start)
    }
}

impl Read for RecordLimit {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = self.record_start.load(Ordering::Relaxed);
        if self.delivered.saturating_sub(start) > self.limit {
            let limit = self.limit;
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                RecordTooLong { limit },
            ));
        }
        let n = self.inner.read(buf)?;
        self.delivered += n as u64;
        Ok(n)
    }
}
