#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer B { uint d[]; } b;
layout(push_constant) uniform P { uvec4 v[16]; } pc;
void main() { b.d[gl_GlobalInvocationID.x] = pc.v[15].w + pc.v[0].x; }
