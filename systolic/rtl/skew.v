// Input skew ("systolic data setup"): lane i of a beat reaches the array i cycles after lane 0.
// The twin of systolic.schedule.skew: out[t + i, i] = in[t, i].
//
//   lane 0  ------------------------------> out 0   (no register: enters the array this cycle)
//   lane 1  --[r]-------------------------> out 1   (one cycle later)
//   lane 2  --[r]--[r]--------------------> out 2   (two cycles later)
//
// LANES * (LANES - 1) / 2 registers of W bits.
module skew #(
    parameter LANES = 4,
    parameter W = 8
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [LANES*W-1:0] in,
    output wire [LANES*W-1:0] out
);
    genvar i;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : g_lane
            delay #(.W(W), .DEPTH(i)) u_delay (
                .clk(clk), .rst(rst), .in(in[i*W +: W]), .out(out[i*W +: W])
            );
        end
    endgenerate
endmodule
