#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B { uint d[]; } b;
void main() { b.d[gl_GlobalInvocationID.x] = gl_GlobalInvocationID.x * 3u + 7u; }
