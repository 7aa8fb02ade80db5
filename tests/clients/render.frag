#version 450
// The fragment stage of tests/clients/render.c: the vertex colour, times the sampled texture where
// the draw asks for it, times the push constants' tint.
layout(location = 0) in vec3 in_color;
layout(location = 1) in vec2 in_uv;

layout(set = 0, binding = 1) uniform sampler2D tex;
layout(push_constant) uniform Push { vec4 tint; vec2 offset; float depth; float textured; } pc;

layout(location = 0) out vec4 out_color;

void main()
{
    vec4 c = vec4(in_color, 1.0);
    if (pc.textured > 0.5)
        c *= texture(tex, in_uv);
    out_color = c * pc.tint;
}
