// The fold loop of a GEMM (m, k) @ (k, n): the twin of systolic.schedule.plan_folds.
//
// Folds run in the order m-chunk -> n-tile -> k-tile (k innermost), so the k-folds of one
// output tile follow each other into the accumulators. A chunk has at most TILE_M rows of A,
// a tile TILE_K rows of B (when K_TILED; else all of k) and TILE_N columns.
//
//   start: the first fold;  advance: the next fold;  pending: a fold remains
module schedule #(
    parameter TILE_M = 16,
    parameter TILE_K = 4,
    parameter TILE_N = 4,
    parameter K_TILED = 1,
    parameter DIM_W = 16
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             start,
    input  wire             advance,
    input  wire [DIM_W-1:0] m,
    input  wire [DIM_W-1:0] k,
    input  wire [DIM_W-1:0] n,
    output reg  [DIM_W-1:0] m0,
    output reg  [DIM_W-1:0] k0,
    output reg  [DIM_W-1:0] n0,
    output wire [DIM_W-1:0] length,     // rows of A in this fold: min(TILE_M, m - m0)
    output wire             first_k,    // the first k-fold of its output tile
    output wire             last_k,     // the last k-fold of its output tile
    output wire             last_fold,
    output reg              pending
);
    // one bit wider than the dimensions: m0 + TILE_M may pass 2**DIM_W - 1
    /* verilator lint_off WIDTHTRUNC */
    localparam [DIM_W:0] STEP_M = TILE_M, STEP_K = TILE_K, STEP_N = TILE_N;
    /* verilator lint_on WIDTHTRUNC */
    wire [DIM_W:0] m_end = {1'b0, m0} + STEP_M;
    wire [DIM_W:0] k_end = {1'b0, k0} + STEP_K;
    wire [DIM_W:0] n_end = {1'b0, n0} + STEP_N;
    wire           last_m = m_end >= {1'b0, m};
    wire           last_n = n_end >= {1'b0, n};
    assign last_k = (K_TILED == 0) || (k_end >= {1'b0, k});
    assign first_k = k0 == 0;
    assign last_fold = last_m && last_n && last_k;
    assign length = last_m ? m - m0 : STEP_M[DIM_W-1:0];

    always @(posedge clk) begin
        if (rst) begin
            m0 <= 0; k0 <= 0; n0 <= 0; pending <= 1'b0;
        end else if (start) begin
            m0 <= 0; k0 <= 0; n0 <= 0; pending <= 1'b1;
        end else if (advance && pending) begin
            if (!last_k) begin
                k0 <= k_end[DIM_W-1:0];
            end else begin
                k0 <= 0;
                if (!last_n) begin
                    n0 <= n_end[DIM_W-1:0];
                end else begin
                    n0 <= 0;
                    if (!last_m) m0 <= m_end[DIM_W-1:0];
                    else pending <= 1'b0;
                end
            end
        end
    end
endmodule
