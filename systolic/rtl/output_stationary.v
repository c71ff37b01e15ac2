// The output-stationary machine: controller, input skews, the grid and its drain. The twin
// of systolic.dataflows.output_stationary (OutputStationaryArray and simulate_golden).
//
//               b_data --> [skew] (column j j cycles late), moves south
//                 |      |      |
//   a_data -->  [acc] -> [acc] -> [acc]      PE(i, j) sums C[m0 + i, n0 + j] over all of k
//   [skew]        |      |      |
//           -->  [acc] -> [acc] -> [acc]
//                 |      |      |
//                 v      v      v   drain: each column shifts its sums south for ROWS cycles,
//                res_valid, res_data       from the cycle after its last MAC
//
// Ports, sampled at the rising edge of clk; a and b transfer together, in a cycle where both
// are valid and the machine is ready.
// - cmd: the GEMM C = A @ B with A (m, k) and B (k, n); accepted when idle (cmd_ready).
// - a, b: the folds in order (m-tile -> n-tile), k beats each: beat t carries
//   A[m0 : m0 + ROWS, t] and B[t, n0 : n0 + COLS] (lanes past m or n ignored).
// - res: column j carries C[m0 + i, n0 + j] when res_valid[j], bottom row (i = ROWS - 1)
//   first; the cycle it appears is the cycle the sum left the array. No back-pressure.
// - cycles: clock cycles from the first cycle after cmd was accepted to the cycle in which the
//   last sum left the array (Report.total_cycles); done pulses in that cycle's successor,
//   with the last result on res.
//
// Fold timing (k beats, then ROWS - 1 + COLS - 1 fill and ROWS drain cycles): a fold takes
// k + 2 * ROWS + COLS - 2 cycles, and the next one starts when every column has drained.
module output_stationary #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter DATA_W = 8,
    parameter ACC_W = 32,
    parameter DIM_W = 16,
    parameter CYCLE_W = 32
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   cmd_valid,
    output wire                   cmd_ready,
    input  wire [DIM_W-1:0]       cmd_m,
    input  wire [DIM_W-1:0]       cmd_k,
    input  wire [DIM_W-1:0]       cmd_n,
    input  wire                   a_valid,
    output wire                   a_ready,
    input  wire [ROWS*DATA_W-1:0] a_data,
    input  wire                   b_valid,
    output wire                   b_ready,
    input  wire [COLS*DATA_W-1:0] b_data,
    output reg  [COLS-1:0]        res_valid,
    output reg  [COLS*ACC_W-1:0]  res_data,
    output reg                    busy,
    output reg                    done,
    output reg  [CYCLE_W-1:0]     cycles
);
    localparam TAIL = 2 * ROWS + COLS - 2;  // fill and drain cycles after a fold's last beat
    localparam CNT_W = $clog2(TAIL + 1);
    /* verilator lint_off WIDTHTRUNC */
    localparam [CNT_W-1:0] LAST_TAIL = TAIL - 1, DRAIN_FROM = ROWS - 1, DRAIN_TO = 2 * ROWS - 1;
    /* verilator lint_on WIDTHTRUNC */

    reg [DIM_W-1:0] m, k, n;
    assign cmd_ready = !busy;
    wire start = cmd_valid && cmd_ready;

    wire [DIM_W-1:0] m0, n0;
    wire             last_fold, pending;
    reg              draining;     // the fold's beats are in; tail cycles of it have passed
    reg  [CNT_W-1:0] tail;
    reg  [DIM_W-1:0] beat_t;
    wire             stream_ok = busy && pending && !draining;
    assign a_ready = stream_ok && b_valid;
    assign b_ready = stream_ok && a_valid;
    wire             fire = stream_ok && a_valid && b_valid;
    wire             beat_last = beat_t == k - 1;
    wire             fold_out = draining && tail == LAST_TAIL;

    schedule #(.TILE_M(ROWS), .TILE_K(1), .TILE_N(COLS), .K_TILED(0), .DIM_W(DIM_W)) u_plan (
        .clk(clk), .rst(rst), .start(start), .advance(fold_out), .m(m), .k(k), .n(n),
        .m0(m0), .k0(), .n0(n0), .length(), .first_k(), .last_k(), .last_fold(last_fold),
        .pending(pending)
    );

    // beats, masked past m and n, then skewed: lane i enters the array i cycles late
    wire [ROWS*(DATA_W+1)-1:0] a_beat, west;
    wire [COLS*(DATA_W+1)-1:0] b_beat, north;
    wire [COLS-1:0]            drain;
    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_a
            wire [DIM_W:0] row = {1'b0, m0} + i;
            wire           real_lane = fire && row < {1'b0, m};
            assign a_beat[i*(DATA_W+1) +: DATA_W+1] =
                {real_lane, real_lane ? a_data[i*DATA_W +: DATA_W] : {DATA_W{1'b0}}};
        end
        for (j = 0; j < COLS; j = j + 1) begin : g_b
            wire [DIM_W:0] col = {1'b0, n0} + j;
            wire           real_lane = fire && col < {1'b0, n};
            assign b_beat[j*(DATA_W+1) +: DATA_W+1] =
                {real_lane, real_lane ? b_data[j*DATA_W +: DATA_W] : {DATA_W{1'b0}}};
        end
    endgenerate
    skew #(.LANES(ROWS), .W(DATA_W+1)) u_skew_a (.clk(clk), .rst(rst), .in(a_beat), .out(west));
    skew #(.LANES(COLS), .W(DATA_W+1)) u_skew_b (.clk(clk), .rst(rst), .in(b_beat), .out(north));
    // column 0 drains ROWS cycles from ROWS - 1 cycles after the last beat; column j, j later
    /* verilator lint_off UNSIGNED */
    wire drain_0 = draining && tail >= DRAIN_FROM && tail < DRAIN_TO;
    /* verilator lint_on UNSIGNED */
    skew #(.LANES(COLS), .W(1)) u_skew_drain (
        .clk(clk), .rst(rst), .in({COLS{drain_0}}), .out(drain)
    );

    // ------------------------------------------------------------------ the grid
    localparam PES = ROWS * COLS;
    wire [PES*DATA_W-1:0] a, b;
    wire [PES*ACC_W-1:0]  acc;
    wire [PES-1:0]        a_valid_q, b_valid_q, acc_valid;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_row
            for (j = 0; j < COLS; j = j + 1) begin : g_col
                localparam P = i * COLS + j;
                wire [DATA_W-1:0] a_in, b_in;
                wire              a_valid_in, b_valid_in, acc_valid_in;
                wire [ACC_W-1:0]  acc_in;
                if (j == 0) begin : g_west
                    assign a_in = west[i*(DATA_W+1) +: DATA_W];
                    assign a_valid_in = west[i*(DATA_W+1) + DATA_W];
                end else begin : g_east
                    assign a_in = a[(P-1)*DATA_W +: DATA_W];
                    assign a_valid_in = a_valid_q[P-1];
                end
                if (i == 0) begin : g_north
                    assign b_in = north[j*(DATA_W+1) +: DATA_W];
                    assign b_valid_in = north[j*(DATA_W+1) + DATA_W];
                    assign acc_in = {ACC_W{1'b0}};
                    assign acc_valid_in = 1'b0;
                end else begin : g_south
                    assign b_in = b[(P-COLS)*DATA_W +: DATA_W];
                    assign b_valid_in = b_valid_q[P-COLS];
                    assign acc_in = acc[(P-COLS)*ACC_W +: ACC_W];
                    assign acc_valid_in = acc_valid[P-COLS];
                end
                os_pe #(.DATA_W(DATA_W), .ACC_W(ACC_W)) u_pe (
                    .clk(clk), .rst(rst),
                    .a_in(a_in), .a_valid_in(a_valid_in), .b_in(b_in), .b_valid_in(b_valid_in),
                    .drain(drain[j]), .acc_in(acc_in), .acc_valid_in(acc_valid_in),
                    .a(a[P*DATA_W +: DATA_W]), .a_valid(a_valid_q[P]),
                    .b(b[P*DATA_W +: DATA_W]), .b_valid(b_valid_q[P]),
                    .acc(acc[P*ACC_W +: ACC_W]), .acc_valid(acc_valid[P])
                );
                if (i == ROWS - 1) begin : g_edge
                    // the bottom PE hands its sum to the output port while the column drains
                    always @(posedge clk) begin
                        res_valid[j] <= !rst && drain[j] && acc_valid[P];
                        res_data[j*ACC_W +: ACC_W] <=
                            (!rst && drain[j]) ? acc[P*ACC_W +: ACC_W] : {ACC_W{1'b0}};
                    end
                end
            end
        end
    endgenerate

    // ------------------------------------------------------------------ control registers
    wire finishing = fold_out && last_fold;
    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0; done <= 1'b0; cycles <= 0; m <= 0; k <= 0; n <= 0;
            draining <= 1'b0; tail <= 0; beat_t <= 0;
        end else begin
            done <= busy && finishing;
            if (start) begin
                busy <= cmd_m != 0 && cmd_k != 0 && cmd_n != 0;
                if (cmd_m == 0 || cmd_k == 0 || cmd_n == 0) done <= 1'b1;
                m <= cmd_m; k <= cmd_k; n <= cmd_n;
                cycles <= 0; draining <= 1'b0; tail <= 0; beat_t <= 0;
            end else if (busy) begin
                cycles <= cycles + 1'b1;
                if (finishing) busy <= 1'b0;
                if (fire) begin
                    beat_t <= beat_last ? {DIM_W{1'b0}} : beat_t + 1'b1;
                    if (beat_last) begin
                        draining <= 1'b1;
                        tail <= 0;
                    end
                end else if (draining) begin
                    tail <= tail + 1'b1;
                    if (fold_out) draining <= 1'b0;
                end
            end
        end
    end
endmodule
