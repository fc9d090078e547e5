#![no_main]
//! BTF blobs: parse, then the queries the tasks, printk and diagnosis code make.
use crashlens::kernel::btf::Btf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = Btf::parse(data) else { return };
    for id in 0..b.len().min(4096) as u32 {
        let _ = b.name(id);
        let _ = b.resolve(id);
        let _ = b.type_size(id);
    }
    for st in ["task_struct", "inactive_task_frame", "a", "b"] {
        let _ = b.find_struct(st);
        let _ = b.struct_size(st);
        for m in ["thread.sp", "pid", "a", "a.b", "a.b.c", "bp", "ret_addr"] {
            let _ = b.member(st, m);
            let _ = b.member_offset(st, m);
            let _ = b.member_size(st, m);
            let _ = b.member_array_len(st, m);
        }
        for off in [0u64, 1, 8, 0x1c, 4096, u64::MAX] {
            let _ = b.field_at(st, off);
        }
    }
    for f in ["f", "__free_pages", "a"] {
        for i in 0..3 {
            let _ = b.param_pointee_struct(f, i);
        }
    }
    let _ = b.enum_value("TASK_COMM_LEN");
    let _ = b.enum_value("a");
});
