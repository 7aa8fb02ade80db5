#version 460
#extension GL_EXT_ray_tracing : require
layout(location = 0) rayPayloadInEXT uint payload;
hitAttributeEXT vec2 barycentrics;

void main()
{
    payload = ((uint(gl_InstanceCustomIndexEXT) + 1u) << 24) | ((uint(gl_PrimitiveID) + 1u) << 16) | uint(gl_HitTEXT * 100.0 + 0.5);
}
