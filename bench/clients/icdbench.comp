#version 450
// The compute shader of bench/clients/icdbench.c: a tiny job on one storage buffer.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Data { uint data[]; };
layout(push_constant) uniform Push { uint value; };

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < data.length())
        data[i] = data[i] * 3u + value;
}
