// The weight-stationary grid of ROWS x COLS processing elements: the twin of
// systolic.array.WeightStationaryArray.
//
//              north_weight (shift chain, load)
//                  |       |       |
//                  v       v       v
//   west -->   [pe 0,0]->[pe 0,1]->[pe 0,2]-->   act, valid and switch move one PE east
//   (skewed)       |       |       |             per cycle
//         -->  [pe 1,0]->[pe 1,1]->[pe 1,2]-->   partial sums move one PE south per cycle
//                  |       |       |
//                  v       v       v
//                south_psum, south_valid: the bottom row's partial-sum registers, into the
//                accumulators (a result "leaves the array" in the cycle it is written there)
//
// last_switch is the switch flag entering the bottom-right PE this cycle: when it is high,
// every PE has copied its shadow weight, so the next tile may start shifting in (the
// double-buffered controller's rule).
module array #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter DATA_W = 8,
    parameter ACC_W = 32
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire [ROWS*DATA_W-1:0] west_act,
    input  wire [ROWS-1:0]        west_valid,
    input  wire [ROWS-1:0]        west_switch,
    input  wire [COLS*DATA_W-1:0] north_weight,
    input  wire [COLS-1:0]        north_weight_valid,
    input  wire                   load,
    output wire [COLS*ACC_W-1:0]  south_psum,
    output wire [COLS-1:0]        south_valid,
    output wire                   last_switch
);
    localparam PES = ROWS * COLS;
    // registers of PE (i, j) at index i * COLS + j
    wire [PES*DATA_W-1:0] act, weight, shadow;
    wire [PES*ACC_W-1:0]  psum;
    wire [PES-1:0]        valid, switch, psum_valid, weight_valid, shadow_valid;

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_row
            for (j = 0; j < COLS; j = j + 1) begin : g_col
                localparam P = i * COLS + j;
                wire [DATA_W-1:0] act_in, weight_in;
                wire [ACC_W-1:0]  psum_in;
                wire              valid_in, switch_in, psum_valid_in, weight_valid_in;
                if (j == 0) begin : g_west
                    assign act_in = west_act[i*DATA_W +: DATA_W];
                    assign valid_in = west_valid[i];
                    assign switch_in = west_switch[i];
                end else begin : g_east
                    assign act_in = act[(P-1)*DATA_W +: DATA_W];
                    assign valid_in = valid[P-1];
                    assign switch_in = switch[P-1];
                end
                if (i == 0) begin : g_north
                    assign psum_in = {ACC_W{1'b0}};
                    assign psum_valid_in = 1'b0;
                    assign weight_in = north_weight[j*DATA_W +: DATA_W];
                    assign weight_valid_in = north_weight_valid[j];
                end else begin : g_south
                    assign psum_in = psum[(P-COLS)*ACC_W +: ACC_W];
                    assign psum_valid_in = psum_valid[P-COLS];
                    assign weight_in = shadow[(P-COLS)*DATA_W +: DATA_W];
                    assign weight_valid_in = shadow_valid[P-COLS];
                end
                pe #(.DATA_W(DATA_W), .ACC_W(ACC_W)) u_pe (
                    .clk(clk), .rst(rst),
                    .act_in(act_in), .valid_in(valid_in), .switch_in(switch_in),
                    .psum_in(psum_in), .psum_valid_in(psum_valid_in),
                    .weight_in(weight_in), .weight_valid_in(weight_valid_in), .load(load),
                    .act(act[P*DATA_W +: DATA_W]), .valid(valid[P]), .switch(switch[P]),
                    .psum(psum[P*ACC_W +: ACC_W]), .psum_valid(psum_valid[P]),
                    .weight(weight[P*DATA_W +: DATA_W]), .weight_valid(weight_valid[P]),
                    .shadow(shadow[P*DATA_W +: DATA_W]), .shadow_valid(shadow_valid[P])
                );
                if (i == ROWS - 1) begin : g_edge
                    assign south_psum[j*ACC_W +: ACC_W] = psum[P*ACC_W +: ACC_W];
                    assign south_valid[j] = psum_valid[P];
                end
                if (i == ROWS - 1 && j == COLS - 1) begin : g_corner
                    assign last_switch = switch_in;
                end
            end
        end
    endgenerate
endmodule
