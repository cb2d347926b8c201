//! Configs that poll the simulator: a `[[modbus_template]]` per device map,
//! and the whole config `floorwatch simulate modbus --print-config` prints.

use super::registers::{METER_HOLE, METER_MAP, METER_UNIT, MapEntry, PLC_MAP, PLC_UNIT};
use crate::config::Table;
use std::net::SocketAddr;

/// A `[[modbus_template]]` for a map, for configs that poll the simulator.
pub fn template_toml(name: &str, map: &[MapEntry], unreadable: &[(Table, u16, u16)]) -> String {
    let mut out = format!("[[modbus_template]]\nname = \"{name}\"\n");
    if !unreadable.is_empty() {
        let ranges: Vec<String> = unreadable
            .iter()
            .map(|(t, from, to)| {
                format!("{{ table = \"{}\", from = {from}, to = {to} }}", t.label())
            })
            .collect();
        out.push_str(&format!("unreadable = [{}]\n", ranges.join(", ")));
    }
    out.push_str("field = [\n");
    for e in map {
        let bit = e.bit.map(|b| format!(", bit = {b}")).unwrap_or_default();
        out.push_str(&format!(
            "  {{ key = \"{}\", name = \"{}\", unit = \"{}\", table = \"{}\", address = {}, type = \"{}\", order = \"{:?}\", scale = {:?}{bit} }},\n",
            e.key, e.name, e.unit, e.table.label(), e.address, e.kind.label(), e.order, e.scale
        ));
    }
    out.push_str("]\n");
    out
}

/// A config polling every value of the simulator at `addr`.
pub fn polling_config(addr: SocketAddr) -> String {
    let mut out = String::from("# Polls `floorwatch simulate modbus`.\n");
    out.push_str(&template_toml(
        "sim-meter",
        &METER_MAP,
        &[(Table::Input, METER_HOLE.0, METER_HOLE.1)],
    ));
    out.push_str(&template_toml("sim-plc", &PLC_MAP, &[]));
    for (name, unit, template) in [
        ("meter", METER_UNIT, "sim-meter"),
        ("plc", PLC_UNIT, "sim-plc"),
    ] {
        out.push_str(&format!(
            "\n[[modbus]]\nname = \"{name}\"\nurl = \"tcp://{addr}\"\nunit = {unit}\npoll = \"1s\"\ntimeout = \"500ms\"\ntemplate = \"{template}\"\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_simulator_config_is_valid() {
        let text = polling_config("127.0.0.1:5020".parse().unwrap());
        let config = crate::config::Config::parse(std::path::Path::new("sim.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let maps = crate::source::modbus::device_maps(&config).unwrap();
        assert_eq!(maps.iter().map(|m| m.fields.len()).sum::<usize>(), 72);
    }
}
