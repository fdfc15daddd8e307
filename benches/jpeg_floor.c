/*
 * The floor of any JPEG path, for benches/images_large.sh: libjpeg-turbo alone, on one thread,
 * over every file of a directory (sorted), read from the page cache into memory.
 *
 *   jpeg_floor MODE DIR
 *
 * MODE:
 *   coef  Huffman (entropy) decoding only: jpeg_read_header + jpeg_read_coefficients, nothing
 *         else (no dequantisation, IDCT, upsampling or colour conversion). Every JPEG decoder
 *         that reads every scan must do this much entropy decoding, whatever scale it outputs
 *         at: with eighth, the floor (the faster of the two; both are upper bounds of the
 *         entropy decoding alone).
 *   eighth  Decode to RGB at 1/8 scale, every scan: every coefficient entropy-decoded, then
 *         the cheapest reconstruction libjpeg has (a 1x1 IDCT: the DC term alone) and 1/64 of
 *         the colour conversion. For a baseline JPEG this is cheaper than coef, which zeroes
 *         and fills a whole-image coefficient array that a streaming decode never holds; a
 *         progressive JPEG buffers all of its coefficients either way.
 *   full  Full decode to RGB at full size (jpeg_read_scanlines), libjpeg-turbo's defaults:
 *         what an exact PDQ path decodes before hashing.
 *   fast  Decode to RGB at the DCT scale Pillow's draft("RGB", (512, 512)) and vigie's fast
 *         path choose (1/2, 1/4 or 1/8 while both sides stay >= 512): the decode alone of the
 *         fast path, without hashing.
 *   grey  The same scale, luma only (out_color_space JCS_GRAYSCALE: libjpeg then skips the
 *         chroma IDCT, upsampling and colour conversion; chroma is still entropy-decoded).
 *   dc    1/8 scale from the first scan only (buffered-image mode, then abort): for a
 *         progressive JPEG whose first scan is the DC of all components (libjpeg's and
 *         Pillow's progressive=True), the AC scans are never entropy-decoded; a baseline
 *         JPEG has one scan and decodes whole. What a DC-only screen would cost.
 *
 * Prints one line: "MODE items N megapixels M cpu_s C wall_s W failed F" (CPU time of the
 * process over the loop, CLOCK_PROCESS_CPUTIME_ID; the file reads are inside the loop, as they
 * are in vigie's and Pillow's). Build: cc -O2 -o jpeg_floor jpeg_floor.c -ljpeg (Debian:
 * libjpeg62-turbo-dev).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>

struct err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void on_error(j_common_ptr cinfo)
{
    longjmp(((struct err *)cinfo->err)->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *read_all(const char *path, unsigned long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (unsigned long)n;
    return buf;
}

/* Pillow's draft rule: the largest 1/s (s in 1, 2, 4, 8) with s <= min(w / 512, h / 512). */
static unsigned int draft_denom(unsigned int w, unsigned int h)
{
    unsigned int m = (w < h ? w : h) / 512, s = 1;
    while (s < 8 && s * 2 <= m)
        s *= 2;
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "coef") && strcmp(argv[1], "full") && strcmp(argv[1], "fast") &&
                      strcmp(argv[1], "grey") && strcmp(argv[1], "dc") && strcmp(argv[1], "eighth"))) {
        fprintf(stderr, "usage: jpeg_floor coef|eighth|full|fast|grey|dc DIR\n");
        return 2;
    }
    const char *mode = argv[1], *dir = argv[2];
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 2;
    }
    size_t n = 0, cap = 256;
    char **names = malloc(cap * sizeof *names);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap)
            names = realloc(names, (cap *= 2) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);

    struct jpeg_decompress_struct cinfo;
    struct err jerr;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
    jpeg_create_decompress(&cinfo);

    JSAMPLE *row = NULL;
    size_t row_cap = 0;
    double mp = 0;
    size_t items = 0, failed = 0;
    double c0 = seconds(CLOCK_PROCESS_CPUTIME_ID), w0 = seconds(CLOCK_MONOTONIC);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unsigned long len = 0;
        unsigned char *buf = read_all(path, &len);
        if (!buf) {
            failed++;
            continue;
        }
        if (setjmp(jerr.jump)) {
            jpeg_abort_decompress(&cinfo);
            free(buf);
            failed++;
            continue;
        }
        jpeg_mem_src(&cinfo, buf, len);
        jpeg_read_header(&cinfo, TRUE);
        mp += cinfo.image_width * (double)cinfo.image_height / 1e6;
        int dc = !strcmp(mode, "dc");
        if (mode[0] == 'c') {
            jpeg_read_coefficients(&cinfo);
        } else {
            cinfo.out_color_space = strcmp(mode, "grey") ? JCS_RGB : JCS_GRAYSCALE;
            if (strcmp(mode, "full")) {
                cinfo.scale_num = 1;
                cinfo.scale_denom = (dc || mode[0] == 'e') ? 8 : draft_denom(cinfo.image_width, cinfo.image_height);
            }
            cinfo.buffered_image = dc ? TRUE : FALSE;
            jpeg_start_decompress(&cinfo);
            if (dc)
                jpeg_start_output(&cinfo, 1);
            size_t stride = (size_t)cinfo.output_width * cinfo.output_components;
            if (stride > row_cap) {
                free(row);
                row = malloc(row_cap = stride);
            }
            while (cinfo.output_scanline < cinfo.output_height) {
                JSAMPROW rows[1] = {row};
                jpeg_read_scanlines(&cinfo, rows, 1);
            }
        }
        if (dc)
            jpeg_abort_decompress(&cinfo);
        else
            jpeg_finish_decompress(&cinfo);
        free(buf);
        items++;
    }
    double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = seconds(CLOCK_MONOTONIC) - w0;
    jpeg_destroy_decompress(&cinfo);
    printf("%s items %zu megapixels %.3f cpu_s %.4f wall_s %.4f failed %zu\n", mode, items, mp,
           cpu, wall, failed);
    return failed ? 1 : 0;
}
