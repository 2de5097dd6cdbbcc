use super::table::Table;
use super::units::{bytes, cpu_list, cpus, duration};
use super::{ErrorReport, Format, print};

#[test]
fn sizes() {
    assert_eq!(bytes(100), "100 B");
    assert_eq!(bytes(4096), "4 KiB");
    assert_eq!(bytes(512 << 20), "512 MiB");
    assert_eq!(bytes(3 << 29), "1.5 GiB");
    assert_eq!(bytes(0), "0 B");
}

#[test]
fn durations() {
    assert_eq!(duration(7_250_000_000), "7.250s");
    assert_eq!(duration(306_000_000_000), "5m06s");
    assert_eq!(duration(7_384_000_000_000), "2h03m04s");
    assert_eq!(duration(273_900_000_000_000), "3d04h05m");
}

#[test]
fn cpu_ranges() {
    assert_eq!(cpus(&cpu_list(0b0100_1111)), "0-3,6");
    assert_eq!(cpus(&cpu_list(0b1010)), "1,3");
    assert_eq!(cpus(&cpu_list(1 << 63)), "63");
    assert_eq!(cpus(&[]), "-");
}

#[test]
fn tables_align_columns() {
    let mut table = Table::new(&["A", "LONGER", "C"]);
    table.row(vec!["wide cell".into(), "x".into(), "".into()]);
    let mut out = Vec::new();
    table.print(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "A          LONGER  C\nwide cell  x\n"
    );
}

#[test]
fn errors_for_programs() {
    let report = ErrorReport {
        error: "no such VM".into(),
    };
    let mut out = Vec::new();
    print(&report, Format::Json, &mut out).unwrap();
    assert_eq!(out, b"{\"error\":\"no such VM\"}\n");
}
