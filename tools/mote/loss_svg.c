/* loss_svg.c — the loss curve of a training run as a standalone SVG file
 * (`mote train` writes OUT.loss.svg beside OUT.gguf): training loss per
 * step and held-out loss at its measured steps against the step, with
 * ticked and labelled axes and a legend. Plain SVG 1.1 written with
 * fprintf: no library, no scripts, no fonts beyond the viewer's sans-serif.
 * Not here: measuring the losses (train_common.c).
 */
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { W = 720, H = 440, ML = 70, MR = 20, MT = 40, MB = 56 };
#define MAX_POINTS 1500 /* a longer training curve is drawn as bucket means */

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about n ticks
 * over span. */
static double nice_step(double span, int n) {
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

int cli_write_loss_svg(const char *path, const char *title, const float *train, int64_t n_train,
                       const float *val, const int64_t *val_step, int64_t n_val) {
    /* ranges: steps 0..last, loss over every finite value */
    double lo = INFINITY, hi = -INFINITY;
    int64_t x_max = n_train;
    for (int64_t i = 0; i < n_train; i++)
        if (isfinite(train[i])) lo = fmin(lo, train[i]), hi = fmax(hi, train[i]);
    for (int64_t i = 0; i < n_val; i++) {
        if (isfinite(val[i])) lo = fmin(lo, val[i]), hi = fmax(hi, val[i]);
        if (val_step[i] > x_max) x_max = val_step[i];
    }
    if (!(lo <= hi)) lo = 0, hi = 1; /* nothing finite to draw */
    if (hi - lo < 1e-3) lo -= 0.5, hi += 0.5;
    double y_step = nice_step(hi - lo, 6);
    lo = floor(lo / y_step) * y_step;
    hi = ceil(hi / y_step) * y_step;
    if (x_max < 1) x_max = 1;
    double x_step = nice_step((double)x_max, 8);
    if (x_step < 1) x_step = 1;
    const double pw = W - ML - MR, ph = H - MT - MB;
#define X(s) (ML + pw * (double)(s) / (double)x_max)
#define Y(v) (MT + ph * (1.0 - ((double)(v) - lo) / (hi - lo)))

    FILE *f = fopen(path, "w");
    if (!f) return cli_fail("train", "cannot write %s: %s", path, strerror(errno));
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    /* title: escape the few characters XML reserves */
    fputs("<text x=\"360\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">", f);
    for (const char *c = title ? title : ""; *c; c++) {
        if (*c == '<') fputs("&lt;", f);
        else if (*c == '>') fputs("&gt;", f);
        else if (*c == '&') fputs("&amp;", f);
        else fputc(*c, f);
    }
    fputs("</text>\n", f);
    /* grid, ticks and tick labels */
    fputs("<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n", f);
    for (double v = lo; v <= hi + y_step * 1e-6; v += y_step)
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", ML, Y(v), W - MR, Y(v));
    for (double s = 0; s <= (double)x_max + 1e-9; s += x_step)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", X(s), MT, X(s), H - MB);
    fputs("</g>\n<g text-anchor=\"end\">\n", f);
    for (double v = lo; v <= hi + y_step * 1e-6; v += y_step)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\">%g</text>\n", ML - 6, Y(v) + 4, fabs(v) < 1e-12 ? 0.0 : v);
    fputs("</g>\n<g text-anchor=\"middle\">\n", f);
    for (double s = 0; s <= (double)x_max + 1e-9; s += x_step)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.0f</text>\n", X(s), H - MB + 18, s);
    fputs("</g>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n",
            ML, MT, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">step</text>\n", ML + pw / 2, H - 14);
    fprintf(f, "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">"
               "loss (nats per token)</text>\n", MT + ph / 2);
    /* training loss: one point per step, or bucket means of long runs */
    if (n_train > 0) {
        int64_t per = (n_train + MAX_POINTS - 1) / MAX_POINTS;
        fputs("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"", f);
        for (int64_t i = 0; i < n_train; i += per) {
            double sum = 0;
            int64_t n = 0;
            for (int64_t j = i; j < i + per && j < n_train; j++)
                if (isfinite(train[j])) sum += train[j], n++;
            if (n) fprintf(f, "%.1f,%.1f ", X((double)i + (double)(n + 1) / 2.0), Y(sum / (double)n));
        }
        fputs("\"/>\n", f);
    }
    if (n_val > 0) {
        fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"", f);
        for (int64_t i = 0; i < n_val; i++)
            if (isfinite(val[i])) fprintf(f, "%.1f,%.1f ", X(val_step[i]), Y(val[i]));
        fputs("\"/>\n<g fill=\"#d62728\">\n", f);
        for (int64_t i = 0; i < n_val; i++)
            if (isfinite(val[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", X(val_step[i]), Y(val[i]));
        fputs("</g>\n", f);
    }
    /* legend, top right inside the plot */
    int lx = W - MR - 150, ly = MT + 10;
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"140\" height=\"%d\" fill=\"white\" stroke=\"#aaa\"/>\n"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n"
            "<text x=\"%d\" y=\"%d\">training loss</text>\n",
            lx, ly, n_val ? 44 : 24, lx + 8, ly + 12, lx + 32, ly + 12, lx + 38, ly + 16);
    if (n_val)
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d62728\" stroke-width=\"2\"/>\n"
                "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"#d62728\"/>\n"
                "<text x=\"%d\" y=\"%d\">held-out loss</text>\n",
                lx + 8, ly + 32, lx + 32, ly + 32, lx + 20, ly + 32, lx + 38, ly + 36);
    fputs("</svg>\n", f);
#undef X
#undef Y
    if (fclose(f) != 0) return cli_fail("train", "cannot write %s: %s", path, strerror(errno));
    return 0;
}
