/* SPDX-License-Identifier: MIT
 *
 * The kernels for any CPU of the platform (x86-64: SSE2), and the table in
 * use. See _kernels.h.
 */
#define NN_TABLE nn_kernels_baseline
#define NN_TABLE_NAME "baseline"
#include "_kernels_impl.h"

const nn_kernels *nn_active = &nn_kernels_baseline;

int nn_select(const char *name)
{
    const nn_kernels *const tables[] = {
        &nn_kernels_baseline, &nn_kernels_avx2, &nn_kernels_avx512};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); ++i) {
        if (tables[i]->name != NULL && strcmp(tables[i]->name, name) == 0) {
            nn_active = tables[i];
            return 0;
        }
    }
    return -1;
}
