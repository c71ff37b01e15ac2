// The weight-stationary machine: controller, input skew, the array, the output de-skew and
// the accumulators. The twin of systolic.dataflows.weight_stationary (fold_timeline is the
// controller's rules; simulate_golden runs the same schedule on the golden model).
//
//   cmd (m, k, n) --> [controller: fold loop, load and stream rules] --> busy, done, cycles
//                          |  w_ready                 | a_ready
//   w_data (tile rows) ----+--> north: shift chain    |
//   a_data (rows of A) ------------------------> [skew] --> west
//                                                  [array ROWS x COLS]
//                                                          | south
//                                     tag --[delay]--> [accumulator + de-skew] --> res
//
// Ports, all sampled at the rising edge of clk; a transfer happens in a cycle where both
// valid and ready are high.
// - cmd: the GEMM C = A @ B with A (m, k) and B (k, n); accepted when idle (cmd_ready).
// - w: the weight tiles of the folds, in fold order (m-chunk -> n-tile -> k-tile); a tile is
//   ROWS beats of COLS weights, its bottom row first (beat b carries B[k0 + ROWS-1-b, n0 :
//   n0 + COLS]); lanes past k or n are ignored (the tile is zero-padded inside).
// - a: the activation rows of the folds, in fold order; fold f takes the rows m0 .. m0 + T - 1
//   of its chunk, beat t carrying A[m0 + t, k0 : k0 + ROWS] (lanes past k ignored).
// - res: column j carries a finished C[m0 + t, n0 + j] when res_valid[j]; each column gives its
//   results in fold order, t ascending. No back-pressure: results are taken every cycle.
// - cycles: clock cycles from the first cycle after cmd was accepted (cycle 0) to the cycle in
//   which the last result left the array (Report.total_cycles); valid once busy falls.
//   done pulses in the cycle the job's last result is on res.
//
// The controller's rules, in the cycles of Report's docstring:
// - a fold streams once its tile is fully shifted in and the previous fold's last row has
//   entered; its first row carries the switch flag;
// - DOUBLE_BUFFERED = 0 (serial): a tile starts shifting in the cycle after the previous
//   fold's last result left the array;
// - DOUBLE_BUFFERED = 1: a tile starts shifting into the shadow registers in the cycle the
//   switch flag reaches the bottom-right PE (every PE has then copied its shadow weight).
module weight_stationary #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter DATA_W = 8,
    parameter ACC_W = 32,
    parameter ACC_ROWS = 16,
    parameter DOUBLE_BUFFERED = 1,
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
    input  wire                   w_valid,
    output wire                   w_ready,
    input  wire [COLS*DATA_W-1:0] w_data,
    input  wire                   a_valid,
    output wire                   a_ready,
    input  wire [ROWS*DATA_W-1:0] a_data,
    output wire [COLS-1:0]        res_valid,
    output wire [COLS*ACC_W-1:0]  res_data,
    output reg                    busy,
    output reg                    done,
    output reg  [CYCLE_W-1:0]     cycles
);
    localparam ROW_W = ROWS > 1 ? $clog2(ROWS) : 1;
    localparam ADDR_W = ACC_ROWS > 1 ? $clog2(ACC_ROWS) : 1;
    localparam TAG_W = ADDR_W + 5;  // {job_last, row_last, last, first, valid, addr}
    /* verilator lint_off WIDTHTRUNC */
    localparam [ROW_W-1:0] LAST_ROW = ROWS - 1;
    /* verilator lint_on WIDTHTRUNC */

    reg [DIM_W-1:0] m, k, n;
    assign cmd_ready = !busy;
    wire start = cmd_valid && cmd_ready;

    // ------------------------------------------------------------------ weight loading
    wire [DIM_W-1:0] load_k0, load_n0;
    wire             load_pending;
    reg              loading;      // a tile is shifting in; load_row beats of it are in
    reg  [ROW_W-1:0] load_row;
    reg              shadow_free;  // the shadow registers may take the next tile
    reg              tile_ready;   // a whole tile waits in the shadow registers
    wire             last_switch, drained;
    wire             free_now = DOUBLE_BUFFERED ? last_switch : drained;
    wire             load_start = load_pending && !loading && (shadow_free || free_now);
    assign w_ready = busy && (loading || load_start);
    wire             w_fire = w_valid && w_ready;
    wire             tile_in = w_fire && load_row == LAST_ROW;

    schedule #(.TILE_M(ACC_ROWS), .TILE_K(ROWS), .TILE_N(COLS), .DIM_W(DIM_W)) u_load_plan (
        .clk(clk), .rst(rst), .start(start), .advance(tile_in), .m(m), .k(k), .n(n),
        .m0(), .k0(load_k0), .n0(load_n0), .length(), .first_k(), .last_k(), .last_fold(),
        .pending(load_pending)
    );

    // the tile row this beat carries (bottom row first) and the lanes that hold real weights
    wire [DIM_W:0]    load_k = {1'b0, load_k0} + {{(DIM_W + 1 - ROW_W){1'b0}}, LAST_ROW - load_row};
    wire              row_real = load_k < {1'b0, k};
    wire [COLS*DATA_W-1:0] north_weight;
    wire [COLS-1:0]   north_valid;
    genvar j, i;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_north
            wire [DIM_W:0] col = {1'b0, load_n0} + j;
            assign north_valid[j] = w_fire && row_real && col < {1'b0, n};
            assign north_weight[j*DATA_W +: DATA_W] =
                north_valid[j] ? w_data[j*DATA_W +: DATA_W] : {DATA_W{1'b0}};
        end
    endgenerate

    // ------------------------------------------------------------------ streaming
    wire [DIM_W-1:0] stream_k0, stream_length;
    wire             stream_first_k, stream_last_k, stream_last_fold, stream_pending;
    reg              streaming;    // a fold is streaming; stream_t rows of it have entered
    reg  [DIM_W-1:0] stream_t;
    assign a_ready = busy && (streaming || (stream_pending && tile_ready));
    wire             a_fire = a_valid && a_ready;
    wire             row_last = stream_t == stream_length - 1;
    wire             fold_in = a_fire && row_last;

    schedule #(.TILE_M(ACC_ROWS), .TILE_K(ROWS), .TILE_N(COLS), .DIM_W(DIM_W)) u_stream_plan (
        .clk(clk), .rst(rst), .start(start), .advance(fold_in), .m(m), .k(k), .n(n),
        .m0(), .k0(stream_k0), .n0(), .length(stream_length), .first_k(stream_first_k),
        .last_k(stream_last_k), .last_fold(stream_last_fold), .pending(stream_pending)
    );

    // lane i of the beat: {switch, valid, act}; the switch rides with a fold's first row
    wire [ROWS*(DATA_W+2)-1:0] beat, west;
    wire [ROWS*DATA_W-1:0]     west_act;
    wire [ROWS-1:0]            west_valid, west_switch;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_west
            wire [DIM_W:0] row = {1'b0, stream_k0} + i;
            wire           real_lane = a_fire && row < {1'b0, k};
            assign beat[i*(DATA_W+2) +: DATA_W+2] = {
                a_fire && !streaming, real_lane,
                real_lane ? a_data[i*DATA_W +: DATA_W] : {DATA_W{1'b0}}
            };
            assign west_act[i*DATA_W +: DATA_W] = west[i*(DATA_W+2) +: DATA_W];
            assign west_valid[i] = west[i*(DATA_W+2) + DATA_W];
            assign west_switch[i] = west[i*(DATA_W+2) + DATA_W + 1];
        end
    endgenerate

    skew #(.LANES(ROWS), .W(DATA_W+2)) u_skew (.clk(clk), .rst(rst), .in(beat), .out(west));

    wire [COLS*ACC_W-1:0] south_psum;
    wire [COLS-1:0]       south_valid;
    array #(.ROWS(ROWS), .COLS(COLS), .DATA_W(DATA_W), .ACC_W(ACC_W)) u_array (
        .clk(clk), .rst(rst),
        .west_act(west_act), .west_valid(west_valid), .west_switch(west_switch),
        .north_weight(north_weight), .north_weight_valid(north_valid), .load(w_fire),
        .south_psum(south_psum), .south_valid(south_valid), .last_switch(last_switch)
    );

    // ------------------------------------------------------------------ accumulators
    // row t's tag enters with its beat and reaches column 0's south edge ROWS - 1 cycles later
    wire [TAG_W-1:0] tag = {
        fold_in && stream_last_fold, row_last, stream_last_k, stream_first_k, a_fire,
        stream_t[ADDR_W-1:0]
    };
    wire [TAG_W-1:0] tag_south, tag_last, tag_last_next;
    delay #(.W(TAG_W), .DEPTH(ROWS - 1)) u_tag_delay (
        .clk(clk), .rst(rst), .in(tag), .out(tag_south)
    );
    accumulator #(.COLS(COLS), .ACC_W(ACC_W), .ACC_ROWS(ACC_ROWS), .TAG_W(TAG_W)) u_acc (
        .clk(clk), .rst(rst), .south_psum(south_psum), .south_valid(south_valid),
        .tag_in(tag_south), .tag_last(tag_last), .tag_last_next(tag_last_next),
        .res_valid(res_valid), .res_data(res_data)
    );
    // the last column's tag register holds a fold's last row: its last result left the array
    // in the cycle before this one
    assign drained = tag_last[ADDR_W] && tag_last[ADDR_W+3];
    wire   finishing = tag_last_next[ADDR_W] && tag_last_next[ADDR_W+4];
    reg    finished;

    // ------------------------------------------------------------------ control registers
    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0; done <= 1'b0; finished <= 1'b0; cycles <= 0;
            m <= 0; k <= 0; n <= 0;
            loading <= 1'b0; load_row <= 0; shadow_free <= 1'b0; tile_ready <= 1'b0;
            streaming <= 1'b0; stream_t <= 0;
        end else begin
            finished <= busy && finishing;
            done <= finished;
            if (start) begin
                // a GEMM with an empty dimension has nothing to run
                busy <= cmd_m != 0 && cmd_k != 0 && cmd_n != 0;
                if (cmd_m == 0 || cmd_k == 0 || cmd_n == 0) finished <= 1'b1;
                m <= cmd_m; k <= cmd_k; n <= cmd_n;
                cycles <= 0;
                loading <= 1'b0; load_row <= 0; shadow_free <= 1'b1; tile_ready <= 1'b0;
                streaming <= 1'b0; stream_t <= 0;
            end else if (busy) begin
                cycles <= cycles + 1'b1;
                if (finishing) busy <= 1'b0;
                if (w_fire) begin
                    loading <= !tile_in;
                    load_row <= tile_in ? {ROW_W{1'b0}} : load_row + 1'b1;
                end
                if (w_fire && !loading) shadow_free <= 1'b0;
                else if (free_now) shadow_free <= 1'b1;
                tile_ready <= (tile_ready && !(a_fire && !streaming)) || tile_in;
                if (a_fire) begin
                    streaming <= !row_last;
                    stream_t <= row_last ? {DIM_W{1'b0}} : stream_t + 1'b1;
                end
            end
        end
    end
endmodule
