#version 450
// A long dispatch for tests/clients/inflight.c: each invocation spins pc.loops rounds of an integer
// hash of its index and stores the result, so the job keeps the device busy for a while.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) writeonly buffer Out { uint data[]; } dst;
layout(push_constant) uniform Push { uint loops; } pc;

void main()
{
    uint h = gl_GlobalInvocationID.x;
    for (uint i = 0u; i < pc.loops; i++)
        h = (h ^ (h >> 15u)) * 0x2c1b3c6du + i;
    dst.data[gl_GlobalInvocationID.x] = h;
}
