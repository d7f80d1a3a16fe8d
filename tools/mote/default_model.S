/* default_model.S — mote's default model (models/mote-tiny.gguf, made by
 * `make default-model`) embedded in the mote binary as read-only data, so
 * `mote run` without -m works from any directory. The Makefile assembles
 * this only when the file exists; default_model.c finds the bytes through
 * the two symbols (weak references there). Page-aligned, so the GGUF's
 * tensor data keeps the alignment the file promises. */
    .section .rodata.mote_default_model, "a"
    .balign 4096
    .globl mote_default_model_start
mote_default_model_start:
    .incbin "models/mote-tiny.gguf"
    .globl mote_default_model_end
mote_default_model_end:
    .byte 0
    .section .note.GNU-stack, "", %progbits
