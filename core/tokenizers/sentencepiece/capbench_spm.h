#pragma once
// A minimal C interface to libsentencepiece, built as its own shared library
// (capbench_spm) that nothing links: core dlopens it with RTLD_LOCAL |
// RTLD_DEEPBIND, because Debian's libsentencepiece carries a private copy of
// protobuf-lite whose symbols clash with the protobuf that libtorch loads.
#include <stddef.h>

#define CAPBENCH_SPM_API __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

typedef struct capbench_spm capbench_spm;

// Receives output bytes or ids; `context` is passed through unchanged.
typedef void (*capbench_spm_bytes_sink)(void* context, const char* data, size_t size);
typedef void (*capbench_spm_ids_sink)(void* context, const int* ids, size_t count);

// Loads a serialized ModelProto (the bytes of spiece.model). Returns null on
// failure and writes a message (NUL-terminated, truncated) into `error`.
CAPBENCH_SPM_API capbench_spm* capbench_spm_load(const char* model, size_t model_size, char* error, size_t error_size);
CAPBENCH_SPM_API void capbench_spm_free(capbench_spm* spm);

CAPBENCH_SPM_API int capbench_spm_piece_size(const capbench_spm* spm);
// The piece of `id` (0 <= id < piece_size); valid while `spm` lives.
CAPBENCH_SPM_API const char* capbench_spm_id_to_piece(const capbench_spm* spm, int id, size_t* size);
// The id of `piece`, or the unknown id when the vocabulary lacks it.
CAPBENCH_SPM_API int capbench_spm_piece_to_id(const capbench_spm* spm, const char* piece, size_t size);

// Return 0 on success, -1 on failure (with a message in `error`).
CAPBENCH_SPM_API int capbench_spm_encode(const capbench_spm* spm, const char* text, size_t size, capbench_spm_ids_sink sink,
                        void* context, char* error, size_t error_size);
// Decodes pieces (sentencepiece's DecodePieces): pieces[i] has sizes[i] bytes.
CAPBENCH_SPM_API int capbench_spm_decode_pieces(const capbench_spm* spm, const char* const* pieces, const size_t* sizes, size_t count,
                               capbench_spm_bytes_sink sink, void* context, char* error, size_t error_size);

#ifdef __cplusplus
}
#endif
