#version 450
// out[i] = in[i] * 3 + 7 for i < n; run by tests/clients/compute.c (compiled at test time with
// glslangValidator -V inside the peers chroot).
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer In { uint data[]; } src;
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint data[]; } dst;
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n)
        dst.data[i] = src.data[i] * 3u + 7u;
}
