//! Links with the hypervisor's linker script.

fn main() {
    let script = std::env::var("DEP_CORDON_LINKER_SCRIPT")
        .expect("cordon-hypervisor exports its linker script for bare-metal builds");
    println!("cargo::rustc-link-arg-bins=-T{script}");
}
