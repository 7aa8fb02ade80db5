#version 460
// tests/clients/rt.c (a): one ray per pixel along +z through the scene with a ray query.
#extension GL_EXT_ray_query : require
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform accelerationStructureEXT scene;
layout(set = 0, binding = 1, std430) buffer Out { uint hits[]; };
layout(push_constant) uniform Size { uint width; uint height; };

void main()
{
    uvec2 p = gl_GlobalInvocationID.xy;
    if (p.x >= width || p.y >= height)
        return;
    vec3 origin = vec3((float(p.x) + 0.5) / float(width) * 2.0 - 1.0, (float(p.y) + 0.5) / float(height) * 2.0 - 1.0, -1.0);
    rayQueryEXT q;
    rayQueryInitializeEXT(q, scene, gl_RayFlagsOpaqueEXT, 0xFF, origin, 0.0, vec3(0.0, 0.0, 1.0), 10.0);
    while (rayQueryProceedEXT(q)) {
    }
    uint v = 0u;
    if (rayQueryGetIntersectionTypeEXT(q, true) == gl_RayQueryCommittedIntersectionTriangleEXT)
        v = ((uint(rayQueryGetIntersectionInstanceCustomIndexEXT(q, true)) + 1u) << 24) |
            ((uint(rayQueryGetIntersectionPrimitiveIndexEXT(q, true)) + 1u) << 16) |
            uint(rayQueryGetIntersectionTEXT(q, true) * 100.0 + 0.5);
    hits[p.y * width + p.x] = v;
}
