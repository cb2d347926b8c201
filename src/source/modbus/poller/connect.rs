//! Opening a link (TCP, RTU over TCP, or a serial port) under a timeout, and
//! the backoff between attempts.

use crate::config::{ModbusUrl, SerialSettings};
use std::time::{Duration, Instant};
use tokio_modbus::Slave;
use tokio_modbus::client::Context;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Exponential reconnect delay, reset by a successful connect.
#[derive(Default)]
pub(super) struct Backoff {
    current: Duration,
    not_before: Option<Instant>,
}

impl Backoff {
    pub(super) fn ready(&self) -> bool {
        self.not_before.is_none_or(|t| Instant::now() >= t)
    }
    pub(super) fn failed(&mut self) {
        self.current = (self.current * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        self.not_before = Some(Instant::now() + self.current);
    }
    pub(super) fn reset(&mut self) {
        self.current = Duration::ZERO;
        self.not_before = None;
    }
}

pub(super) async fn connect(
    url: &ModbusUrl,
    unit: u8,
    timeout: Duration,
) -> std::io::Result<Context> {
    let slave = Slave(unit);
    let attempt = async {
        match url {
            ModbusUrl::Tcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Ok(tokio_modbus::client::tcp::attach_slave(stream, slave))
            }
            ModbusUrl::RtuOverTcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Ok(tokio_modbus::client::rtu::attach_slave(stream, slave))
            }
            ModbusUrl::Rtu(settings) => {
                let port = open_serial(settings)?;
                Ok(tokio_modbus::client::rtu::attach_slave(port, slave))
            }
        }
    };
    tokio::time::timeout(timeout, attempt).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {timeout:?}"),
        )
    })?
}

fn open_serial(settings: &SerialSettings) -> std::io::Result<tokio_serial::SerialStream> {
    use tokio_serial::{DataBits, Parity, StopBits};
    let builder = tokio_serial::new(&settings.path, settings.baud)
        .parity(match settings.parity {
            'E' => Parity::Even,
            'O' => Parity::Odd,
            _ => Parity::None,
        })
        .data_bits(match settings.data_bits {
            5 => DataBits::Five,
            6 => DataBits::Six,
            7 => DataBits::Seven,
            _ => DataBits::Eight,
        })
        .stop_bits(if settings.stop_bits == 2 {
            StopBits::Two
        } else {
            StopBits::One
        });
    tokio_serial::SerialStream::open(&builder)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", settings.path)))
}
