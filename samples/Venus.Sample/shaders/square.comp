#version 450
// out[i] = i * i + 7, 64 invocations per group.
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Data { uint values[]; };
void main()
{
    uint i = gl_GlobalInvocationID.x;
    values[i] = i * i + 7u;
}
