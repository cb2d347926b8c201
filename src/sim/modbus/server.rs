//! The simulator served over Modbus TCP or RTU (tokio-modbus server side):
//! every request is counted by function code, faults are applied, and reads
//! are answered from the devices' register images.

use super::bank::Bank;
use super::faults::Faults;
use super::plant::PlantModel;
use super::registers::{
    METER_HOLE, METER_MAP, METER_UNIT, PLC_MAP, PLC_UNIT, Quantity, entry_words,
};
use crate::config::Table;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_modbus::{ExceptionCode, Response, SlaveRequest};

/// How a [`Simulator`] starts: its seed, its tick and the faults it injects.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    /// How often the model advances; `None` freezes it (tests compare exact values).
    pub period: Option<Duration>,
    pub faults: Faults,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            period: Some(Duration::from_secs(1)),
            faults: Faults::default(),
        }
    }
}

struct Shared {
    model: Mutex<PlantModel>,
    banks: Mutex<HashMap<u8, Bank>>,
    faults: Mutex<Faults>,
    requests: AtomicU64,
    function_codes: Mutex<BTreeMap<u8, u64>>,
}

/// The simulated devices; serve them with [`Simulator::serve`].
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
    ticker: Arc<Option<tokio::task::JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a register image half-valid
    // in a way that matters to a simulator; keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Simulator {
    /// A simulator with its model at tick 0. With a period, a task advances the
    /// model (needs a tokio runtime).
    pub fn new(options: SimOptions) -> Simulator {
        let model = PlantModel::new(
            options.seed,
            options.period.unwrap_or(Duration::from_secs(1)),
        );
        let mut banks = HashMap::new();
        let mut meter = Bank::sized(200, 16);
        meter.holes.push((Table::Input, METER_HOLE.0, METER_HOLE.1));
        banks.insert(METER_UNIT, meter);
        banks.insert(PLC_UNIT, Bank::sized(64, 16));
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            banks: Mutex::new(banks),
            faults: Mutex::new(options.faults),
            requests: AtomicU64::new(0),
            function_codes: Mutex::new(BTreeMap::new()),
        });
        shared.publish();
        let ticker = options.period.map(|period| {
            let weak = Arc::downgrade(&shared);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    let Some(shared) = weak.upgrade() else { break };
                    lock(&shared.model).advance();
                    shared.publish();
                }
            })
        });
        Simulator {
            shared,
            ticker: Arc::new(ticker),
        }
    }

    /// The engineering value the simulator currently serves for a quantity.
    pub fn value(&self, quantity: Quantity) -> f64 {
        lock(&self.shared.model).value(quantity)
    }

    /// Overwrites registers of a unit (creating the unit if needed), e.g. a test pattern.
    pub fn set_registers(&self, unit: u8, table: Table, address: u16, words: &[u16]) {
        let mut banks = lock(&self.shared.banks);
        banks
            .entry(unit)
            .or_insert_with(|| Bank::sized(1024, 1024))
            .write(table, address, words);
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// Function codes received so far, with counts.
    pub fn function_codes(&self) -> BTreeMap<u8, u64> {
        lock(&self.shared.function_codes).clone()
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Listens on `addr` (port 0 for an ephemeral one) and serves until stopped.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let server = Arc::new(Server::new(listener));
        let task = spawn_serving(server.clone(), self.shared.clone());
        Ok(SimServer {
            addr: local,
            server,
            shared: self.shared.clone(),
            task,
        })
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if Arc::strong_count(&self.ticker) == 1
            && let Some(task) = self.ticker.as_ref()
        {
            task.abort();
        }
    }
}

impl Simulator {
    /// Serves the same devices as an RTU slave on a serial port (e.g. one end
    /// of a pseudo-terminal pair) until the returned task is aborted.
    pub fn serve_rtu(&self, path: &str, baud: u32) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let serial = tokio_serial::SerialStream::open(&tokio_serial::new(path, baud))
            .map_err(|e| std::io::Error::other(format!("{path}: {e}")))?;
        let server = tokio_modbus::server::rtu::Server::new(serial);
        let service = SimService {
            shared: self.shared.clone(),
        };
        Ok(tokio::spawn(async move {
            if let Err(error) = server.serve_forever(service).await {
                tracing::debug!("RTU simulator stopped: {error}");
            }
        }))
    }
}

fn spawn_serving(server: Arc<Server>, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let service = SimService { shared };
        let on_connected = |stream: tokio::net::TcpStream, addr: SocketAddr| {
            let service = service.clone();
            async move {
                let _ = stream.set_nodelay(true);
                accept_tcp_connection(stream, addr, move |_| Ok(Some(service.clone())))
            }
        };
        let on_error = |error: std::io::Error| tracing::debug!("simulator connection: {error}");
        if let Err(error) = server.serve(&on_connected, on_error).await {
            tracing::warn!("Modbus simulator stopped: {error}");
        }
    })
}

/// A listening simulator. Dropping it (or [`SimServer::stop`]) closes the
/// listener and every connection.
pub struct SimServer {
    pub addr: SocketAddr,
    server: Arc<Server>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Closes every open connection; the listener keeps accepting new ones.
    pub fn drop_connections(&mut self) {
        self.task.abort();
        self.task = spawn_serving(self.server.clone(), self.shared.clone());
    }

    pub async fn stop(self) {
        self.task.abort();
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct SimService {
    shared: Arc<Shared>,
}

impl tokio_modbus::server::Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { shared.answer(request).await })
    }
}

impl Shared {
    async fn answer(
        &self,
        request: SlaveRequest<'static>,
    ) -> Result<Option<Response>, ExceptionCode> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        *lock(&self.function_codes)
            .entry(request.request.function_code().value())
            .or_default() += 1;
        let faults = lock(&self.faults).clone();
        if !faults.latency.is_zero() {
            tokio::time::sleep(faults.latency).await;
        }
        if faults
            .timeout_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            return Ok(None);
        }
        if faults
            .busy_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            return Err(ExceptionCode::ServerDeviceBusy);
        }
        if let Some(rule) = faults
            .exceptions
            .iter()
            .find(|r| r.hits(request.slave, &request.request))
        {
            return Err(ExceptionCode::new(rule.code));
        }
        let banks = lock(&self.banks);
        match banks.get(&request.slave) {
            Some(bank) => bank.read(&request.request).map(Some),
            None => Err(ExceptionCode::GatewayTargetDevice),
        }
    }

    /// Writes the model's current values into the register images.
    fn publish(&self) {
        let model = lock(&self.model).clone();
        let mut banks = lock(&self.banks);
        for (unit, map) in [(METER_UNIT, &METER_MAP[..]), (PLC_UNIT, &PLC_MAP[..])] {
            let Some(bank) = banks.get_mut(&unit) else {
                continue;
            };
            for entry in map {
                let value = model.value(entry.quantity);
                match entry.bit {
                    Some(bit) => bank.set_bit(entry.address, bit, value != 0.0),
                    None => bank.write(entry.table, entry.address, &entry_words(entry, value)),
                }
            }
        }
    }
}
