// One output-stationary processing element: the per-PE registers of
// systolic.dataflows.output_stationary.OutputStationaryArray.
//
//                 b_in, b_valid_in   acc_in, acc_valid_in (north PE's sum, when draining)
//                        |             |
//   a_in, a_valid_in --> [ a  b  acc ] --> a, a_valid (east)
//                        |             |
//                  b, b_valid        acc, acc_valid (south, when draining)
//
// At the clock edge of a cycle: a and b move on one PE (east, south); when the column is
// draining, acc takes the sum of the PE above (zero at the top) instead of computing;
// otherwise acc <= acc + a_in * b_in (ACC_W-bit two's complement, wrapping). A MAC is useful
// when both operands are valid and the column is not draining.
module os_pe #(
    parameter DATA_W = 8,
    parameter ACC_W = 32
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire signed [DATA_W-1:0] a_in,
    input  wire                     a_valid_in,
    input  wire signed [DATA_W-1:0] b_in,
    input  wire                     b_valid_in,
    input  wire                     drain,
    input  wire signed [ACC_W-1:0]  acc_in,
    input  wire                     acc_valid_in,
    output reg  signed [DATA_W-1:0] a,
    output reg                      a_valid,
    output reg  signed [DATA_W-1:0] b,
    output reg                      b_valid,
    output reg  signed [ACC_W-1:0]  acc,
    output reg                      acc_valid
);
    wire signed [2*DATA_W-1:0] product = a_in * b_in;
    wire useful = a_valid_in && b_valid_in && !drain;

    always @(posedge clk) begin
        if (rst) begin
            a <= 0; a_valid <= 1'b0; b <= 0; b_valid <= 1'b0; acc <= 0; acc_valid <= 1'b0;
        end else begin
            if (drain) begin
                acc <= acc_in;
                acc_valid <= acc_valid_in;
            end else begin
                acc <= acc + {{(ACC_W-2*DATA_W){product[2*DATA_W-1]}}, product};
                acc_valid <= acc_valid || useful;
            end
            a <= a_in; a_valid <= a_valid_in;
            b <= b_in; b_valid <= b_valid_in;
        end
    end
endmodule
