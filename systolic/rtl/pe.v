// One weight-stationary processing element: the twin of systolic/pe.py.
//
//                 psum_in, psum_valid_in     weight_in, weight_valid_in (load: shift enable)
//                          |                          |
//   act_in, valid_in  -->  [ act valid switch | weight shadow | psum ]  --> act, valid, switch
//   switch_in                       |                          |           (east neighbour)
//                          psum, psum_valid              shadow, shadow_valid
//                          (south neighbour)             (south neighbour's weight_in)
//
// At the clock edge of a cycle, every register takes a value computed from the registers
// before it, as in ProcessingElement.step():
//   - switch_in (the first activation of a fold): the shadow weight becomes the active weight,
//     and that same activation already multiplies it;
//   - load: the shadow register takes weight_in (the shift chain runs north to south);
//   - psum <= psum_in + act_in * weight, in ACC_W-bit two's complement (wrapping);
//   - a MAC is useful when a valid activation meets a valid weight; psum_valid says the sum
//     holds a useful product.
module pe #(
    parameter DATA_W = 8,
    parameter ACC_W = 32
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire signed [DATA_W-1:0] act_in,
    input  wire                     valid_in,
    input  wire                     switch_in,
    input  wire signed [ACC_W-1:0]  psum_in,
    input  wire                     psum_valid_in,
    input  wire signed [DATA_W-1:0] weight_in,
    input  wire                     weight_valid_in,
    input  wire                     load,
    output reg  signed [DATA_W-1:0] act,
    output reg                      valid,
    output reg                      switch,
    output reg  signed [ACC_W-1:0]  psum,
    output reg                      psum_valid,
    output reg  signed [DATA_W-1:0] weight,
    output reg                      weight_valid,
    output reg  signed [DATA_W-1:0] shadow,
    output reg                      shadow_valid
);
    // the weight this cycle's activation meets: the shadow one when the switch arrives with it
    wire signed [DATA_W-1:0] weight_now = switch_in ? shadow : weight;
    wire                     weight_now_valid = switch_in ? shadow_valid : weight_valid;
    wire signed [2*DATA_W-1:0] product = act_in * weight_now;

    always @(posedge clk) begin
        if (rst) begin
            act <= 0; valid <= 1'b0; switch <= 1'b0;
            psum <= 0; psum_valid <= 1'b0;
            weight <= 0; weight_valid <= 1'b0;
            shadow <= 0; shadow_valid <= 1'b0;
        end else begin
            psum <= psum_in + {{(ACC_W-2*DATA_W){product[2*DATA_W-1]}}, product};
            psum_valid <= psum_valid_in | (valid_in & weight_now_valid);
            weight <= weight_now;
            weight_valid <= weight_now_valid;
            if (load) begin
                shadow <= weight_in;
                shadow_valid <= weight_valid_in;
            end
            act <= act_in;
            valid <= valid_in;
            switch <= switch_in;
        end
    end
endmodule
