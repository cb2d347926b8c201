//! Faults the simulator can inject: latency, unanswered requests, busy
//! replies and exceptions on address ranges (`--exception` rules).

use crate::config::Table;
use std::time::Duration;
use tokio_modbus::Request;

/// Faults to inject; change them at run time with [`super::Simulator::set_faults`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before every reply.
    pub latency: Duration,
    /// Every Nth request gets no reply at all.
    pub timeout_every: Option<u64>,
    /// Every Nth request gets exception 6 (server busy).
    pub busy_every: Option<u64>,
    /// Reads touching these ranges get the given exception code.
    pub exceptions: Vec<ExceptionRule>,
}

/// `TABLE:FROM[-TO]=CODE[@UNIT]`, e.g. `input:100-109=2` or `holding:5=4@2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionRule {
    pub table: Table,
    pub from: u16,
    pub to: u16,
    pub code: u8,
    pub unit: Option<u8>,
}

/// Why an exception rule did not parse; each names the rule as written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionRuleError {
    #[error("{0:?}: expected TABLE:FROM[-TO]=CODE[@UNIT], e.g. input:100-109=2")]
    Syntax(String),
    #[error("{0:?}: table must be holding, input, coil or discrete")]
    Table(String),
}

impl std::str::FromStr for ExceptionRule {
    type Err = ExceptionRuleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || ExceptionRuleError::Syntax(s.to_owned());
        let (rule, unit) = match s.split_once('@') {
            Some((rule, unit)) => (rule, Some(unit.parse::<u8>().map_err(|_| syntax())?)),
            None => (s, None),
        };
        let (table, rest) = rule.split_once(':').ok_or_else(syntax)?;
        let (range, code) = rest.split_once('=').ok_or_else(syntax)?;
        let table = table_named(table).ok_or_else(|| ExceptionRuleError::Table(s.to_owned()))?;
        let (from, to) = range.split_once('-').unwrap_or((range, range));
        let from: u16 = from.parse().map_err(|_| syntax())?;
        let to: u16 = to.parse().map_err(|_| syntax())?;
        let code: u8 = code.parse().map_err(|_| syntax())?;
        if to < from || code == 0 {
            return Err(syntax());
        }
        Ok(ExceptionRule {
            table,
            from,
            to,
            code,
            unit,
        })
    }
}

fn table_named(name: &str) -> Option<Table> {
    match name {
        "holding" => Some(Table::Holding),
        "input" => Some(Table::Input),
        "coil" => Some(Table::Coil),
        "discrete" => Some(Table::Discrete),
        _ => None,
    }
}

impl ExceptionRule {
    /// Whether a read by `unit` touches this rule's range.
    pub(super) fn hits(&self, unit: u8, request: &Request<'_>) -> bool {
        let (table, start, count) = match *request {
            Request::ReadHoldingRegisters(a, n) => (Table::Holding, a, n),
            Request::ReadInputRegisters(a, n) => (Table::Input, a, n),
            Request::ReadCoils(a, n) => (Table::Coil, a, n),
            Request::ReadDiscreteInputs(a, n) => (Table::Discrete, a, n),
            _ => return false,
        };
        let end = u32::from(start) + u32::from(count);
        self.unit.is_none_or(|u| u == unit)
            && table == self.table
            && u32::from(start) <= u32::from(self.to)
            && end > u32::from(self.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_rules_parse() {
        let rule: ExceptionRule = "input:100-109=2@1".parse().unwrap();
        assert_eq!(
            rule,
            ExceptionRule {
                table: Table::Input,
                from: 100,
                to: 109,
                code: 2,
                unit: Some(1)
            }
        );
        assert_eq!(
            "input:100".parse::<ExceptionRule>(),
            Err(ExceptionRuleError::Syntax("input:100".to_owned()))
        );
        assert_eq!(
            "flash:1=2".parse::<ExceptionRule>(),
            Err(ExceptionRuleError::Table("flash:1=2".to_owned()))
        );
    }
}
