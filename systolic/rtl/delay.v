// A W-bit value delayed by DEPTH clock cycles (DEPTH = 0: a wire). Clears on reset.
module delay #(
    parameter W = 8,
    parameter DEPTH = 1
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [W-1:0] in,
    output wire [W-1:0] out
);
    generate
        if (DEPTH == 0) begin : g_wire
            assign out = in;
        end else begin : g_regs
            reg [W*DEPTH-1:0] stage;  // stage[0 +: W] is the newest value
            if (DEPTH == 1) begin : g_one
                always @(posedge clk) stage <= rst ? {W{1'b0}} : in;
            end else begin : g_many
                always @(posedge clk)
                    stage <= rst ? {W*DEPTH{1'b0}} : {stage[W*(DEPTH-1)-1:0], in};
            end
            assign out = stage[W*(DEPTH-1) +: W];
        end
    endgenerate
endmodule
