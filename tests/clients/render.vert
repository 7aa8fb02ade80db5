#version 450
// The vertex stage of tests/clients/render.c: a 2D position turned by the uniform buffer's matrix,
// moved by the push constants' offset and put at the push constants' depth.
layout(location = 0) in vec2 in_pos;
layout(location = 1) in vec3 in_color;
layout(location = 2) in vec2 in_uv;

layout(std140, set = 0, binding = 0) uniform Transform { vec4 rot; vec4 uv_scale; } ubo;
layout(push_constant) uniform Push { vec4 tint; vec2 offset; float depth; float textured; } pc;

layout(location = 0) out vec3 out_color;
layout(location = 1) out vec2 out_uv;

void main()
{
    vec2 p = mat2(ubo.rot.xy, ubo.rot.zw) * in_pos + pc.offset;
    gl_Position = vec4(p, pc.depth, 1.0);
    out_color = in_color;
    out_uv = in_uv * ubo.uv_scale.xy;
}
