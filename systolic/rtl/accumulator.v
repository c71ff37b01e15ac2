// Accumulators below the weight-stationary array, with the output de-skew: the twin of
// systolic.accumulator.Accumulator.
//
//      south_psum, south_valid (column j's result for row t leaves the array j cycles after
//        |    |    |           column 0's)
//        v    v    v
//   tag -[q0]-[q1]-[q2]   the de-skew: the tag of row t (its address, first/last k-fold)
//        |    |    |      moves east one column per cycle, so it meets each column's sum
//      [bank0][bank1][bank2]   ACC_ROWS entries per column: entry[t] = (first ? 0 : entry[t])
//        |    |    |                                        + psum
//        v    v    v
//       res_valid, res_data: the finished sum, one cycle after its last partial sum left
//       the array (after the last k-fold of its output tile)
//
// tag_in is the tag that column 0's partial-sum register takes at this clock edge. tag_last
// is the tag register of the last column, tag_last_next its value after this edge.
module accumulator #(
    parameter COLS = 4,
    parameter ACC_W = 32,
    parameter ACC_ROWS = 16,
    parameter TAG_W = 8     // {job_last, row_last, last, first, valid, addr}
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [COLS*ACC_W-1:0] south_psum,
    input  wire [COLS-1:0]       south_valid,
    input  wire [TAG_W-1:0]      tag_in,
    output wire [TAG_W-1:0]      tag_last,
    output wire [TAG_W-1:0]      tag_last_next,
    output wire [COLS-1:0]       res_valid,
    output wire [COLS*ACC_W-1:0] res_data
);
    localparam ADDR_W = TAG_W - 5;
    reg  [COLS*TAG_W-1:0] tag;  // tag[j*TAG_W +: TAG_W] meets column j's partial sum
    wire [COLS*TAG_W-1:0] tag_next;
    generate
        if (COLS == 1) begin : g_one
            assign tag_next = tag_in;
        end else begin : g_many
            assign tag_next = {tag[(COLS-1)*TAG_W-1:0], tag_in};
        end
    endgenerate
    assign tag_last = tag[(COLS-1)*TAG_W +: TAG_W];
    assign tag_last_next = tag_next[(COLS-1)*TAG_W +: TAG_W];

    always @(posedge clk) tag <= rst ? {COLS*TAG_W{1'b0}} : tag_next;

    genvar j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_col
            reg  [ACC_W-1:0]  bank [0:ACC_ROWS-1];
            wire [TAG_W-1:0]  t = tag[j*TAG_W +: TAG_W];
            wire [ADDR_W-1:0] addr = t[ADDR_W-1:0];
            wire              write = t[ADDR_W] && south_valid[j];  // tag valid, real column
            wire [ACC_W-1:0]  psum = south_psum[j*ACC_W +: ACC_W];
            wire [ACC_W-1:0]  sum = t[ADDR_W+1] ? psum : bank[addr] + psum;
            reg               out_valid;
            reg  [ACC_W-1:0]  out;
            always @(posedge clk) begin
                if (write) bank[addr] <= sum;
                out_valid <= !rst && write && t[ADDR_W+2];
                out <= (!rst && write && t[ADDR_W+2]) ? sum : {ACC_W{1'b0}};
            end
            assign res_valid[j] = out_valid;
            assign res_data[j*ACC_W +: ACC_W] = out;
        end
    endgenerate
endmodule
