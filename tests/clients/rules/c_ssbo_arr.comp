#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B { uint d[]; } b[8];
void main() { b[7].d[gl_GlobalInvocationID.x] = 5u; b[0].d[gl_GlobalInvocationID.x] = 9u; }
