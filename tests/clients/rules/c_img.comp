#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0, r32ui) uniform uimage2D img;
void main() { imageStore(img, ivec2(gl_GlobalInvocationID.xy), uvec4(7)); }
