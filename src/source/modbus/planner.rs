//! Request planning: merge a device's fields into the fewest reads. Two
//! neighbouring fields share a read when the unused registers between them
//! number at most `max_gap`, none of them is unreadable, and the read stays
//! within the protocol limit (125 registers, 2000 bits). Fields sorted by
//! address are grouped greedily, which is minimal: any feasible group stays
//! feasible when shortened, so extending a group never costs a read later.

use crate::config::Table;

/// Where one field lives: `len` registers (or bits) from `start`, on the wire (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpan {
    pub table: Table,
    pub start: u16,
    pub len: u16,
}

impl FieldSpan {
    fn end(&self) -> u32 {
        u32::from(self.start) + u32::from(self.len)
    }
}

/// Registers (or bits) `from..=to` of `table` that must never be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exclusion {
    pub table: Table,
    pub from: u16,
    pub to: u16,
}

impl Exclusion {
    /// Whether any excluded unit lies in `start..end`.
    fn touches(&self, table: Table, start: u32, end: u32) -> bool {
        self.table == table && u32::from(self.from) < end && start <= u32::from(self.to)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanRules {
    pub max_gap: u16,
    pub one_request_per_field: bool,
}

/// One read: `count` units of `table` from `start`, serving `fields` (indices into the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    pub table: Table,
    pub start: u16,
    pub count: u16,
    pub fields: Vec<usize>,
}

impl ReadRequest {
    pub fn end(&self) -> u32 {
        u32::from(self.start) + u32::from(self.count)
    }
}

/// The reads that cover every field, fewest first by table then address.
pub fn plan(fields: &[FieldSpan], excluded: &[Exclusion], rules: PlanRules) -> Vec<ReadRequest> {
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| (fields[i].table, fields[i].start, fields[i].len));
    let mut requests: Vec<ReadRequest> = Vec::new();
    let mut open: Option<Group> = None;
    for i in order {
        let field = fields[i];
        let alone = rules.one_request_per_field
            || excluded
                .iter()
                .any(|x| x.touches(field.table, u32::from(field.start), field.end()));
        if let Some(group) = open.as_mut()
            && !alone
            && group.can_take(&field, excluded, rules.max_gap)
        {
            group.take(i, &field);
            continue;
        }
        if let Some(group) = open.take() {
            requests.push(group.into_request());
        }
        let group = Group::new(i, &field);
        if alone {
            requests.push(group.into_request());
        } else {
            open = Some(group);
        }
    }
    if let Some(group) = open {
        requests.push(group.into_request());
    }
    requests
}

struct Group {
    table: Table,
    start: u32,
    end: u32,
    fields: Vec<usize>,
}

impl Group {
    fn new(i: usize, field: &FieldSpan) -> Self {
        Group {
            table: field.table,
            start: u32::from(field.start),
            end: field.end(),
            fields: vec![i],
        }
    }

    fn can_take(&self, field: &FieldSpan, excluded: &[Exclusion], max_gap: u16) -> bool {
        let start = u32::from(field.start);
        let gap_end = start.max(self.end);
        let gap = gap_end - self.end;
        field.table == self.table
            && gap <= u32::from(max_gap)
            && field.end().max(self.end) - self.start <= u32::from(self.table.max_per_request())
            && !excluded
                .iter()
                .any(|x| x.touches(self.table, self.end, gap_end))
    }

    fn take(&mut self, i: usize, field: &FieldSpan) {
        self.end = self.end.max(field.end());
        self.fields.push(i);
    }

    fn into_request(self) -> ReadRequest {
        ReadRequest {
            table: self.table,
            // Spans come from u16 addresses and are capped at 2000 units.
            start: u16::try_from(self.start).unwrap_or(u16::MAX),
            count: u16::try_from(self.end - self.start).unwrap_or(u16::MAX),
            fields: self.fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reg(start: u16, len: u16) -> FieldSpan {
        FieldSpan {
            table: Table::Input,
            start,
            len,
        }
    }

    fn rules(max_gap: u16) -> PlanRules {
        PlanRules {
            max_gap,
            one_request_per_field: false,
        }
    }

    fn spans(requests: &[ReadRequest]) -> Vec<(u16, u16)> {
        requests.iter().map(|r| (r.start, r.count)).collect()
    }

    #[test]
    fn contiguous_fields_share_one_read() {
        let fields = [reg(0, 2), reg(2, 2), reg(4, 4)];
        assert_eq!(spans(&plan(&fields, &[], rules(0))), vec![(0, 8)]);
    }

    #[test]
    fn bridges_gaps_up_to_max_gap_only() {
        let fields = [reg(0, 2), reg(5, 2), reg(20, 1)];
        assert_eq!(spans(&plan(&fields, &[], rules(3))), vec![(0, 7), (20, 1)]);
        assert_eq!(
            spans(&plan(&fields, &[], rules(0))),
            vec![(0, 2), (5, 2), (20, 1)]
        );
        assert_eq!(spans(&plan(&fields, &[], rules(13))), vec![(0, 21)]);
    }

    #[test]
    fn never_bridges_an_unreadable_register() {
        let fields = [reg(0, 2), reg(4, 2)];
        let hole = [Exclusion {
            table: Table::Input,
            from: 3,
            to: 3,
        }];
        assert_eq!(spans(&plan(&fields, &hole, rules(8))), vec![(0, 2), (4, 2)]);
    }

    #[test]
    fn splits_at_125_registers() {
        let fields: Vec<_> = (0..100).map(|i| reg(i * 2, 2)).collect();
        let requests = plan(&fields, &[], rules(0));
        assert_eq!(spans(&requests), vec![(0, 124), (124, 76)]);
    }

    #[test]
    fn tables_are_never_mixed_and_bits_allow_2000() {
        let mut fields: Vec<_> = (0..1500)
            .map(|i| FieldSpan {
                table: Table::Coil,
                start: i * 2,
                len: 1,
            })
            .collect();
        fields.push(reg(0, 1));
        let requests = plan(&fields, &[], rules(1));
        assert_eq!(
            requests
                .iter()
                .map(|r| (r.table, r.start, r.count))
                .collect::<Vec<_>>(),
            vec![
                (Table::Input, 0, 1),
                (Table::Coil, 0, 1999),
                (Table::Coil, 2000, 999)
            ]
        );
    }

    #[test]
    fn bits_of_one_register_share_it() {
        let fields = [reg(10, 1), reg(10, 1), reg(11, 2)];
        let requests = plan(&fields, &[], rules(0));
        assert_eq!(spans(&requests), vec![(10, 3)]);
        assert_eq!(requests[0].fields.len(), 3);
    }

    #[test]
    fn one_request_per_field_escape_hatch() {
        let fields = [reg(0, 2), reg(2, 2)];
        let rules = PlanRules {
            max_gap: 8,
            one_request_per_field: true,
        };
        assert_eq!(spans(&plan(&fields, &[], rules)), vec![(0, 2), (2, 2)]);
    }

    /// The fewest reads, by dynamic programming over sorted fields with a
    /// feasibility test written from the definition (maximal runs of unused
    /// units), independent of the greedy planner's incremental checks.
    fn minimum_reads(fields: &[FieldSpan], excluded: &[Exclusion], max_gap: u16) -> usize {
        let mut total = 0;
        for table in [Table::Holding, Table::Input, Table::Coil, Table::Discrete] {
            let mut of_table: Vec<FieldSpan> = fields
                .iter()
                .copied()
                .filter(|f| f.table == table)
                .collect();
            of_table.sort_by_key(|f| (f.start, f.len));
            let n = of_table.len();
            let mut best = vec![usize::MAX; n + 1];
            best[0] = 0;
            for j in 1..=n {
                for i in 0..j {
                    if best[i] != usize::MAX && feasible(&of_table[i..j], excluded, max_gap) {
                        best[j] = best[j].min(best[i] + 1);
                    }
                }
            }
            total += best[n];
        }
        total
    }

    fn feasible(group: &[FieldSpan], excluded: &[Exclusion], max_gap: u16) -> bool {
        let table = group[0].table;
        let start = group.iter().map(|f| u32::from(f.start)).min().unwrap_or(0);
        let end = group.iter().map(FieldSpan::end).max().unwrap_or(0);
        if end - start > u32::from(table.max_per_request()) {
            return false;
        }
        let used = |u: u32| group.iter().any(|f| u32::from(f.start) <= u && u < f.end());
        let unusable = |u: u32| {
            excluded
                .iter()
                .any(|x| x.table == table && u32::from(x.from) <= u && u <= u32::from(x.to))
        };
        let mut run = 0;
        for u in start..end {
            if used(u) {
                run = 0;
            } else {
                run += 1;
                if run > u32::from(max_gap) || unusable(u) {
                    return false;
                }
            }
        }
        true
    }

    fn layout() -> impl Strategy<Value = (Vec<FieldSpan>, Vec<Exclusion>, u16)> {
        let item = (
            prop_oneof![Just(Table::Holding), Just(Table::Input), Just(Table::Coil)],
            0u16..30,
            prop_oneof![Just(1u16), Just(2), Just(4)],
            prop::bool::weighted(0.15),
        );
        (prop::collection::vec(item, 1..80), 0u16..20).prop_map(|(items, max_gap)| {
            let mut fields = Vec::new();
            let mut excluded = Vec::new();
            let mut cursor = [0u16; 3];
            for (table, skip, len, hole) in items {
                let slot = match table {
                    Table::Holding => 0,
                    Table::Input => 1,
                    _ => 2,
                };
                let len = if table.is_bits() { 1 } else { len };
                let start = cursor[slot] + skip;
                if hole && skip > 0 {
                    excluded.push(Exclusion {
                        table,
                        from: cursor[slot],
                        to: cursor[slot] + skip / 2,
                    });
                }
                fields.push(FieldSpan { table, start, len });
                cursor[slot] = start + len;
            }
            (fields, excluded, max_gap)
        })
    }

    proptest! {
        #[test]
        fn plans_cover_every_field_within_limits_minimally((fields, excluded, max_gap) in layout()) {
            let requests = plan(&fields, &excluded, rules(max_gap));
            for (i, field) in fields.iter().enumerate() {
                let covering: Vec<_> = requests.iter().filter(|r| r.fields.contains(&i)).collect();
                prop_assert_eq!(covering.len(), 1, "field {} in {} requests", i, covering.len());
                let r = covering[0];
                prop_assert!(r.table == field.table && r.start <= field.start && field.end() <= r.end());
            }
            for r in &requests {
                prop_assert!(r.count >= 1 && r.count <= r.table.max_per_request(), "{:?}", r);
                prop_assert!(!excluded.iter().any(|x| x.touches(r.table, u32::from(r.start), r.end())), "{:?} touches an exclusion", r);
            }
            prop_assert_eq!(requests.len(), minimum_reads(&fields, &excluded, max_gap));
        }
    }
}
