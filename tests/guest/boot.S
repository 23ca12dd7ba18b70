/* Entry points of the Cocoon test guest.
 *
 * _start32: the PVH entry (XEN_ELFNOTE_PHYS32_ENTRY), taken by Cloud Hypervisor and by
 *           Firecracker when the ELF carries the note: 32-bit protected mode, paging off,
 *           %ebx = physical address of struct hvm_start_info.
 * _start64: the ELF entry for a VMM that uses the 64-bit Linux boot protocol instead:
 *           long mode on the VMM's page tables, %rsi = boot_params ("zero page").
 * Both load our GDT and page tables (built at assembly time below, so booting costs no
 * loop: every ring-0 instruction may be run through an instruction emulator) and call
 * guest_main(kind, pointer) on our stack. */
#define BOOT_PVH   1
#define BOOT_LINUX 2

#ifndef GUEST_NO_PVH_NOTE      /* (without it, to try the Linux 64-bit entry) */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz: "Xen\0" */
        .long 4                 /* descsz */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .long _start32
#endif

        .section .text.boot, "ax"
        .code32
        .globl _start32
_start32:
        cli
        movl    %ebx, %edi              /* hvm_start_info, kept for guest_main */
        lgdt    gdt_ptr32
        movl    %cr4, %eax
        orl     $0x20, %eax             /* CR4.PAE */
        movl    %eax, %cr4
        movl    $pml4, %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx       /* IA32_EFER */
        rdmsr
        orl     $0x100, %eax            /* LME */
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000001, %eax       /* PG | PE */
        movl    %eax, %cr0
        ljmp    $0x08, $long32

        .code64
long32:
        movl    $BOOT_PVH, %eax
        movl    %edi, %esi              /* zero-extended: the start info is below 4 GiB */
        jmp     common64

        .globl _start64
_start64:
        cli
        movl    $BOOT_LINUX, %eax
        lgdt    gdt_ptr64(%rip)
        movq    $pml4, %rcx
        movq    %rcx, %cr3
        /* reload CS from our GDT (same selector the VMM used: 0x08) */
        leaq    common64(%rip), %rcx
        pushq   $0x08
        pushq   %rcx
        lretq

common64:
        movl    $0x10, %ecx
        movl    %ecx, %ds
        movl    %ecx, %es
        movl    %ecx, %ss
        xorl    %ecx, %ecx
        movl    %ecx, %fs
        movl    %ecx, %gs
        movq    $stack_top, %rsp
        movl    %eax, %r8d
        /* .bss is ours to clear: a VMM that resets the guest in place may not.  It is kept
         * small (big buffers are in .noinit, cleared when used): rep stos is emulated. */
        movq    $__bss_start, %rdi
        movq    $__bss_end, %rcx
        subq    %rdi, %rcx
        shrq    $3, %rcx
        xorl    %eax, %eax
        cld
        rep stosq
        movl    %r8d, %edi              /* guest_main(kind, info) */
        call    guest_main
1:      hlt
        jmp     1b

/* Interrupt stubs.  The timer only counts; the others only acknowledge: the idle loop
 * polls the devices after every wake-up. */
        .text
        .globl isr_timer
isr_timer:
        incq    ticks(%rip)
        .globl isr_ack
isr_ack:
        pushq   %rax
        movl    $0xFEE000B0, %eax       /* LAPIC EOI */
        movl    $0, (%rax)
        popq    %rax
        iretq

        .globl isr_spurious
isr_spurious:
        iretq

/* Exceptions: one stub per vector pushes its number (and a zero error code where the CPU
 * pushes none), then guest_exception(vector, error, frame) reports and halts. */
.macro EXC vec, haserr
        .globl exc_\vec
exc_\vec:
.if \haserr == 0
        pushq   $0
.endif
        pushq   $\vec
        jmp     exc_common
.endm
        EXC 0,0
        EXC 1,0
        EXC 2,0
        EXC 3,0
        EXC 4,0
        EXC 5,0
        EXC 6,0
        EXC 7,0
        EXC 8,1
        EXC 9,0
        EXC 10,1
        EXC 11,1
        EXC 12,1
        EXC 13,1
        EXC 14,1
        EXC 15,0
        EXC 16,0
        EXC 17,1
        EXC 18,0
        EXC 19,0
exc_common:
        movq    (%rsp), %rdi            /* vector */
        movq    8(%rsp), %rsi           /* error code */
        leaq    16(%rsp), %rdx          /* rip, cs, rflags, rsp, ss */
        andq    $-16, %rsp
        call    guest_exception
2:      cli
        hlt
        jmp     2b

        .section .rodata
        .globl exc_table
exc_table:
        .quad exc_0, exc_1, exc_2, exc_3, exc_4, exc_5, exc_6, exc_7, exc_8, exc_9
        .quad exc_10, exc_11, exc_12, exc_13, exc_14, exc_15, exc_16, exc_17, exc_18, exc_19

        .balign 8
gdt:
        .quad 0                         /* 0x00 null */
        .quad 0x00af9a000000ffff        /* 0x08 64-bit code */
        .quad 0x00cf92000000ffff        /* 0x10 data */
gdt_end:
        .balign 8
gdt_ptr32:
        .word gdt_end - gdt - 1
        .long gdt
        .balign 8
gdt_ptr64:
        .word gdt_end - gdt - 1
        .quad gdt

/* Identity map of the low 4 GiB with 2 MiB pages; the top GiB (LAPIC, IOAPIC, the VMMs'
 * 32-bit MMIO windows) uncached.  Anything above (Cloud Hypervisor's 64-bit PCI BARs) is
 * mapped on demand by paging.c, from the spare tables in .bss. */
        .section .data.pagetables, "aw"
        .balign 4096
        .globl pml4
pml4:
        .quad pdpt_low + 3
        .fill 511, 8, 0
        .globl pdpt_low
pdpt_low:
        .quad pd_low + 0x0003, pd_low + 0x1003, pd_low + 0x2003, pd_low + 0x3003
        .fill 508, 8, 0
pd_low:
        .set addr, 0
        .rept 512 * 3
        .quad addr + 0x83               /* P | RW | PS */
        .set addr, addr + 0x200000
        .endr
        .rept 512
        .quad addr + 0x9b               /* P | RW | PWT | PCD | PS */
        .set addr, addr + 0x200000
        .endr

        .bss
        .balign 16
        .globl ticks
ticks:  .quad 0

        .section .stack, "aw", @nobits
        .balign 4096
stack:  .skip 16384
stack_top:
